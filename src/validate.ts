/** Shared checks of the options resolvers: each throws a ConfigError naming the option. */
import { ConfigError } from './errors';

/** The longest delay a Node timer takes (about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function checkPositive(path: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(path, `must be a positive number, got ${String(v)}`);
}

/** A positive duration a timer can wait for. */
export function checkDuration(path: string, v: unknown): void {
  checkPositive(path, v);
  if ((v as number) > MAX_TIMER_MS) throw new ConfigError(path, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${String(v)}`);
}

export function checkNonNegative(path: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(path, `must be a number >= 0, got ${String(v)}`);
}

/** Options given as `undefined` count as not given. */
export function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A topic's replication factor: a whole number >= 1, or -1 for the brokers' `default.replication.factor`. */
export function checkReplicationFactor(path: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || (v < 1 && v !== -1) || v > 32767)
    throw new ConfigError(path, `must be a whole number >= 1 (replicas per partition), or -1 for the brokers' default.replication.factor; got ${String(v)}`);
}
