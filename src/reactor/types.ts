import type { DepsMap, Plan, RunResult } from '../dag';

/** A main-topic message as depsFn and procFn see it. */
export interface ReactorMessage<T = unknown> {
  topic: string;
  partition: number;
  offset: string;
  /** The key as it came: any bytes (`keyText(message)` reads it as UTF-8 text); null when it has none. */
  key: Buffer | null;
  /** The request's `data`. */
  value: T;
  /** Where this Reactor's result goes, if the sender wants one. */
  returnTopic?: string;
  correlationId?: string;
  /** When the caller stops waiting (epoch ms), if it said. */
  deadline?: number;
  /**
   * Header values as they came: any bytes (`headerText(message, name)` reads
   * one as UTF-8 text). A name sent more than once has its last value here;
   * all of them travel on to the dependency calls and the reply.
   */
  headers: Record<string, Buffer>;
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
