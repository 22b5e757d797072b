/**
 * What both reply modes share: the options and outcome of a call, its
 * deadline and abort as one race, retries within that one deadline, and the
 * set of calls in flight that close() aborts.
 */
import type { OutboundHeaders } from '../protocol/bytes';
import { CallTimeoutError, ProtocolError, RemoteError, StateError } from '../errors';
import { ReplyMatcher } from '../protocol/replies';
import { DEFAULT_ENCODING, encodeRequestMessage, replyContent, type Encoding } from '../protocol/wire';
import type { OutboundMessage } from '../kafka/producer';
import { RETRY_DEFAULTS, withRetry, type RetryPolicy } from '../retry';

/**
 * Header of the record a process writes now and then on the return topics
 * it reads (its instance reply topic, an ephemeral one whose call lasts): it
 * shows other processes' sweepers that the topic is in use. Readers skip it.
 */
export const HEARTBEAT_HEADER = 'kafka-fusion-heartbeat';

/** Where one call spent its time, in milliseconds. */
export interface CallTimings {
  /** Waiting for a return topic to be made (leaders answering); 0 when one was ready (made ahead), and in instance mode. */
  createTopicMs: number;
  /** Handing the return topic to the process's reply reader (no consumer group: about 0); in instance mode, the first call's start of the reply topic. */
  joinMs: number;
  /** Request sent → reply received. */
  roundTripMs: number;
  /** From the attempt's start to the result. */
  totalMs: number;
  /** Attempts before this one that failed transiently. */
  retries: number;
}

export interface CallOptions {
  /** Deadline of the whole call (return topic, round trip). */
  timeoutMs: number;
  /**
   * An absolute deadline (epoch ms) the call must not outlive, whatever
   * `timeoutMs` says: a Reactor's calls get their message's, so that no
   * dependency is told a later deadline than its caller's.
   */
  notAfter?: number;
  /** DAG node name, for errors. */
  node?: string;
  key?: string | Buffer | null;
  /** Headers of the request message (a caller's correlation or tenant ids...). */
  headers?: OutboundHeaders;
  /** Codec and wire format of the request (and of the reply it expects). Default: JSON in the envelope. */
  encoding?: Encoding;
  signal?: AbortSignal;
  /** Transient failures are tried again under this policy. Default: no retry. */
  retry?: RetryPolicy;
  /** Told of each retry, before its wait. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** A call's result, with its correlation id, its return topic and where its time went. */
export interface CallOutcome<R> {
  result: R;
  correlationId: string;
  returnTopic: string;
  timings: CallTimings;
}

/** One attempt of a call, with the call's absolute deadline. */
export type Attempt<R> = (opts: CallOptions & { deadlineAt: number }, local: AbortController, attempt: number) => Promise<CallOutcome<R>>;

const NO_RETRY: RetryPolicy = { ...RETRY_DEFAULTS, retries: 0 };

/** Calls in flight of one requester: each retried within its deadline, all aborted by close(). */
export class ActiveCalls {
  private readonly active = new Map<AbortController, Promise<unknown>>();
  /** Attempts made again after a transient failure. */
  retries = 0;

  run<R>(opts: CallOptions, attempt: Attempt<R>): Promise<CallOutcome<R>> {
    const local = new AbortController();
    // Transient failures (the request was not sent) are tried again, within
    // the call's one deadline.
    const deadlineAt = Math.min(Date.now() + opts.timeoutMs, opts.notAfter ?? Infinity);
    const work = withRetry((n) => attempt({ ...opts, deadlineAt }, local, n), opts.retry ?? NO_RETRY, {
      signal: local.signal,
      deadlineAt,
      onRetry: (error, attempt, delayMs) => {
        this.retries++;
        opts.onRetry?.(error, attempt, delayMs);
      },
    });
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.active.set(local, settled);
    void settled.then(() => this.active.delete(local));
    return work;
  }

  /** Abort every call in flight and wait until all have settled. */
  async abortAll(reason: string): Promise<void> {
    for (const c of this.active.keys()) c.abort(new StateError(reason));
    await Promise.all([...this.active.values()]);
  }
}

/**
 * An attempt's deadline and abort as one promise to race its steps against:
 * it rejects with CallTimeoutError at `deadlineAt`, or with the abort reason.
 */
export function attemptDeadline(
  topic: string,
  correlationId: string,
  opts: CallOptions & { deadlineAt: number },
  local: AbortController,
): { race: <T>(p: Promise<T>) => Promise<T>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const onOuterAbort = () => local.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted) local.abort(opts.signal.reason);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CallTimeoutError({ topic, timeoutMs: opts.timeoutMs, correlationId, node: opts.node })),
      Math.max(0, opts.deadlineAt - Date.now()),
    );
    local.signal.addEventListener('abort', () => reject(local.signal.reason ?? new StateError('call aborted')), { once: true });
    if (local.signal.aborted) reject(local.signal.reason ?? new StateError('call aborted'));
  });
  deadline.catch(() => undefined);
  return {
    race: <T>(p: Promise<T>) => Promise.race([p, deadline]),
    clear: () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onOuterAbort);
    },
  };
}

/** A promise settled from outside: the reply a call waits for. */
export function pendingReply<R>(): { promise: Promise<R>; resolve: (v: R) => void; reject: (e: unknown) => void } {
  let resolve!: (v: R) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<R>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** What both requesters share: replies matched by correlation id, calls in flight, and their counters. */
export abstract class Requester {
  /** Routes each reply to its call, once; counts the rest. */
  protected readonly replies = new ReplyMatcher();
  protected readonly calls = new ActiveCalls();

  /** Attempts made again after a transient failure. */
  get retries(): number {
    return this.calls.retries;
  }

  /** Replies whose correlation id matched no pending call (late, or foreign). */
  get ignoredReplies(): number {
    return this.replies.ignored;
  }

  /** Second and later replies to one call (same correlation id): dropped, never delivered twice. */
  get duplicateReplies(): number {
    return this.replies.duplicates;
  }

  /**
   * The reply that names `correlationId`, decoded with the call's codec: its
   * result, or a RemoteError naming the topic and node (a ProtocolError if
   * it cannot be read). `replies.forget` it when the call ends.
   */
  protected expectReply<R>(correlationId: string, topic: string, opts: CallOptions): ReturnType<typeof pendingReply<R>> {
    const reply = pendingReply<R>();
    this.replies.expect(correlationId, (inbound) => {
      replyContent(inbound, (opts.encoding ?? DEFAULT_ENCODING).codec).then(
        (outcome) => ('error' in outcome ? reply.reject(new RemoteError(topic, outcome.error, opts.node)) : reply.resolve(outcome.result as R)),
        (e: unknown) => reply.reject(e instanceof ProtocolError ? new ProtocolError(`reply from "${topic}": ${e.message}`) : e),
      );
    });
    return reply;
  }
}

/** The request message of one attempt: keyed by the correlation id unless the caller chose a key. */
export async function requestMessage(
  data: unknown,
  returnTopic: string,
  correlationId: string,
  opts: CallOptions & { deadlineAt: number },
): Promise<OutboundMessage> {
  const { value, headers } = await encodeRequestMessage(
    { data, returnTopic, correlationId, deadline: opts.deadlineAt },
    opts.encoding ?? DEFAULT_ENCODING,
    opts.headers,
  );
  return { key: opts.key ?? correlationId, value, headers };
}
