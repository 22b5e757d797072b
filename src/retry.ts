import { ConfigError, StateError, TransportError } from './errors';
import { checkNonNegative, withoutUndefined } from './validate';

/** Capped exponential backoff with jitter, for failures of the transport (never for a remote error). */
export interface RetryPolicy {
  /** Attempts after the first. 0 turns retrying off. @defaultValue 3 */
  retries: number;
  /** Wait before the first retry. @defaultValue 100 */
  initialDelayMs: number;
  /** Each wait is the previous one times this. @defaultValue 2 */
  multiplier: number;
  /** No wait is longer than this. @defaultValue 2000 */
  maxDelayMs: number;
  /** Each wait is moved at random by up to this fraction of itself, either way. @defaultValue 0.2 */
  jitter: number;
}

/** The retry policy when none is given: 3 retries, 100 ms doubling to at most 2 s, ±20 % jitter. */
export const RETRY_DEFAULTS: RetryPolicy = { retries: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 2000, jitter: 0.2 };

/** The wait before retry number `attempt` (1-based), for a given random draw in [0, 1). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: number): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * random - 1))));
}

/**
 * What is worth another attempt: a failure of the Kafka client that says it
 * is retriable (broker away, leader moving). A remote
 * error (the service answered: a business failure), a timeout (the service
 * may still be working on it) and an abort are not.
 */
export function isTransient(e: unknown): boolean {
  return e instanceof TransportError && e.retriable;
}

export interface RetryContext {
  /** Stop waiting and give up with the signal's reason. */
  signal?: AbortSignal;
  /** Epoch ms after which no retry starts (the whole call's deadline). */
  deadlineAt?: number;
  /** Told of each retry before its wait. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** For tests: the wait and the random source. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new StateError('aborted'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason ?? new StateError('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Run `attempt`; on a transient failure wait (backoff) and run it again, up to `policy.retries` times. */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, ctx: RetryContext = {}): Promise<T> {
  const sleep = ctx.sleep ?? abortableSleep;
  const random = ctx.random ?? Math.random;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (n >= policy.retries || !isTransient(e) || ctx.signal?.aborted) throw e;
      const delayMs = backoffMs(policy, n + 1, random());
      if (ctx.deadlineAt !== undefined && Date.now() + delayMs >= ctx.deadlineAt) throw e;
      ctx.onRetry?.(e, n + 1, delayMs);
      await sleep(delayMs, ctx.signal);
    }
  }
}

/** Defaults for what is not given; each field checked, errors naming `path.field`. */
export function resolveRetryPolicy(path: string, given: Partial<RetryPolicy> | undefined): RetryPolicy {
  if (given !== undefined && (typeof given !== 'object' || given === null)) throw new ConfigError(path, 'must be an object');
  const p = { ...RETRY_DEFAULTS, ...withoutUndefined(given ?? {}) };
  for (const k of ['retries', 'initialDelayMs', 'maxDelayMs'] as const) checkNonNegative(`${path}.${k}`, p[k]);
  if (!Number.isInteger(p.retries)) throw new ConfigError(`${path}.retries`, `must be a whole number, got ${p.retries}`);
  if (typeof p.multiplier !== 'number' || !(p.multiplier >= 1))
    throw new ConfigError(`${path}.multiplier`, `must be a number >= 1, got ${String(p.multiplier)}`);
  if (typeof p.jitter !== 'number' || !(p.jitter >= 0 && p.jitter <= 1))
    throw new ConfigError(`${path}.jitter`, `must be between 0 and 1, got ${String(p.jitter)}`);
  return p;
}
