import type { Codec, WireFormat } from '../protocol/codec';

/** Injects dependency results into a node's args. `depResults` follow the node's `deps` order. */
export type ArgIn = (args: readonly unknown[], depResults: readonly unknown[]) => unknown[];

/** One call of a deps map: its `args` are sent as the request's data to `topic`. */
export interface CallSpec {
  /** The topic of the service to call (its Reactor's main topic). */
  topic: string;
  /** The request's data: an array, to which the results of `deps` are joined (see `argIn`). */
  args: unknown[];
  /** Names of nodes whose results this node needs. */
  deps?: string[];
  /** How dep results join `args`. Default: appendResults (fusion's `conj`). */
  argIn?: ArgIn;
  /** How this call gets its reply. Default: the Reactor's replyMode. */
  replyMode?: 'ephemeral' | 'instance';
  /** Codec of this call's args and result. Default: the Reactor's codec (JSON when `wire` is 'envelope'). */
  codec?: Codec;
  /**
   * Wire format of this call: 'envelope' (JSON inside the kafka-fusion
   * envelope) or 'headers' (the args bare, fields in headers: what a NestJS
   * `@MessagePattern` handler reads). Default: the codec's ('envelope' for JSON, else 'headers').
   */
  wire?: WireFormat;
}

/** Named calls, as returned by a Reactor's depsFn. */
export type DepsMap = Record<string, CallSpec>;

/** One validated node of a Plan: its call, its deps and the nodes that depend on it. */
export interface PlanNode {
  readonly id: string;
  readonly topic: string;
  readonly args: readonly unknown[];
  readonly deps: readonly string[];
  readonly dependents: readonly string[];
  readonly argIn: ArgIn;
  readonly replyMode: 'ephemeral' | 'instance' | undefined;
  readonly codec: Codec | undefined;
  readonly wire: WireFormat | undefined;
}

/** A validated, immutable DAG. Per-run state lives in runPlan, never here. */
export interface Plan {
  readonly nodes: ReadonlyMap<string, PlanNode>;
  /** A topological order (deterministic: ties keep the deps map's key order). */
  readonly order: readonly string[];
  /** Nodes with no deps. */
  readonly roots: readonly string[];
}

/** How a node of a run ended: answered, failed, or not run because a node before it failed. */
export type NodeStatus = 'done' | 'failed' | 'skipped';

/** One node of a finished run: its status, the args it was called with, its result or error, and when. */
export interface NodeOutcome {
  id: string;
  topic: string;
  status: NodeStatus;
  /** Args as sent (after injection). */
  args?: unknown[];
  result?: unknown;
  error?: unknown;
  startedAt?: number;
  finishedAt?: number;
}

/** A finished run of a Plan: results by node, and each node's outcome. */
export interface RunResult {
  results: Record<string, unknown>;
  outcomes: Record<string, NodeOutcome>;
  startedAt: number;
  finishedAt: number;
}

/** Performs one node's call; must honour `signal`. */
export type CallNode = (node: PlanNode, args: unknown[], signal: AbortSignal) => Promise<unknown>;

/** Options of `runPlan`. */
export interface RunOptions {
  /** Aborts the run: calls in flight get the abort, nothing new starts. */
  signal?: AbortSignal;
  /** Clock for timings. Default: Date.now. */
  now?: () => number;
  /**
   * Told of the run as it ended, whether it resolved or rejected (a node
   * failed, or the run was aborted): what each node did, for a picture of a
   * failed run too. Results hold the nodes that were done.
   */
  onSettled?: (run: RunResult) => void;
}
