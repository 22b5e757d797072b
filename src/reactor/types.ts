import type { DepsMap, Plan, RunResult } from '../dag';

/** A main-topic message as depsFn and procFn see it. */
export interface ReactorMessage<T = unknown> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The request's `data`. */
  value: T;
  /** Where this Reactor's result goes, if the sender wants one. */
  returnTopic?: string;
  correlationId?: string;
  /** When the caller stops waiting (epoch ms), if it said. */
  deadline?: number;
  headers: Record<string, string>;
}

/** Names the calls to make before procFn; nothing (or `{}`) means none. */
export type DepsFn<T = unknown> = (message: ReactorMessage<T>) => DepsMap | null | undefined | void | Promise<DepsMap | null | undefined | void>;

/** Results of the calls, by node name. */
export type Results = Record<string, unknown>;

/** Makes a message's result from the message and its calls' results; what it returns (or resolves to) is the reply. */
export type ProcFn<T = unknown, R = unknown> = (message: ReactorMessage<T>, results: Results) => R | Promise<R>;

/**
 * What a Reactor puts on its Subject for each message: the result or the
 * error, and when a DAG ran, its validated `plan` and its `run` (each node's
 * status, args and timings; for a failed DAG too: which node failed, which
 * were cut short or skipped); `toMermaid(plan, run)` / `toDot(plan, run)`
 * draw it.
 */
export type ReactorOutput<T = unknown, R = unknown> =
  | { message: ReactorMessage<T>; result: R; error?: undefined; plan?: Plan; run?: RunResult }
  | { message: ReactorMessage<T>; error: unknown; result?: undefined; plan?: Plan; run?: RunResult };
