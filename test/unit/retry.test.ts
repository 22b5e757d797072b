import { CallTimeoutError, RemoteError, TransportError, ConfigError } from '../../src/errors';
import { backoffMs, RETRY_DEFAULTS, resolveRetryPolicy, withRetry, type RetryPolicy } from '../../src/retry';

const policy: RetryPolicy = { retries: 4, initialDelayMs: 100, multiplier: 2, maxDelayMs: 500, jitter: 0.2 };

/** A sleep that records and returns at once: no timers in unit tests. */
function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('backoff', () => {
  test('doubles from the initial delay and is capped', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, n, 0.5))).toEqual([100, 200, 400, 500, 500]);
  });

  test('jitter moves each wait by at most its fraction, both ways', () => {
    expect(backoffMs(policy, 1, 0)).toBe(80);
    expect(backoffMs(policy, 1, 0.999999)).toBe(120);
    expect(backoffMs({ ...policy, jitter: 0 }, 3, 0.9)).toBe(400);
  });
});

describe('withRetry', () => {
  const transient = () => new TransportError('broker away', new Error('ECONNREFUSED'));

  test('tries a transient failure again with backoff until it succeeds', async () => {
    const r = recorder();
    let calls = 0;
    const result = await withRetry(
      async (n) => {
        calls++;
        if (n < 2) throw transient();
        return `ok after ${n}`;
      },
      policy,
      { sleep: r.sleep, random: () => 0.5 },
    );
    expect(result).toBe('ok after 2');
    expect(calls).toBe(3);
    expect(r.waits).toEqual([100, 200]);
  });

  test('gives up after `retries` and rethrows the last failure', async () => {
    const r = recorder();
    const seen: number[] = [];
    await expect(
      withRetry(async () => Promise.reject(transient()), policy, { sleep: r.sleep, random: () => 0.5, onRetry: (_e, n) => seen.push(n) }),
    ).rejects.toThrow('broker away');
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(r.waits).toEqual([100, 200, 400, 500]);
  });

  test.each([
    ['a remote (business) error', new RemoteError('accounts', { name: 'RangeError', message: 'no such account' })],
    ['a timeout (the service may still be at work)', new CallTimeoutError({ topic: 't', timeoutMs: 5 })],
    ['a non-retriable transport error', new TransportError('producer is closed', undefined, false)],
    ['a bug', new TypeError('x is undefined')],
  ])('never retries %s', async (_what, error) => {
    const r = recorder();
    let calls = 0;
    await expect(withRetry(async () => (calls++, Promise.reject(error)), policy, { sleep: r.sleep })).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  test('no retry starts past the deadline', async () => {
    const r = recorder();
    let calls = 0;
    await expect(
      withRetry(async () => (calls++, Promise.reject(transient())), policy, { sleep: r.sleep, random: () => 0.5, deadlineAt: Date.now() + 50 }),
    ).rejects.toThrow('broker away');
    expect(calls).toBe(1);
  });

  test('an aborted signal stops retrying', async () => {
    const abort = new AbortController();
    abort.abort(new Error('shutting down'));
    let calls = 0;
    await expect(withRetry(async () => (calls++, Promise.reject(transient())), policy, { signal: abort.signal })).rejects.toThrow('broker away');
    expect(calls).toBe(1);
  });
});

describe('resolveRetryPolicy', () => {
  test('defaults, overrides, and errors naming the field', () => {
    expect(resolveRetryPolicy('retry', undefined)).toEqual(RETRY_DEFAULTS);
    expect(resolveRetryPolicy('retry', { retries: 0 })).toEqual({ ...RETRY_DEFAULTS, retries: 0 });
    expect(() => resolveRetryPolicy('retry', { retries: 1.5 })).toThrow('retry.retries: must be a whole number, got 1.5');
    expect(() => resolveRetryPolicy('retry', { multiplier: 0.5 })).toThrow(ConfigError);
    expect(() => resolveRetryPolicy('retry', { jitter: 2 })).toThrow('retry.jitter: must be between 0 and 1, got 2');
  });
});
