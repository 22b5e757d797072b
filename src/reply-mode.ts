import { ConfigError } from './errors';

/** How a call gets its reply: a fresh topic per call, or the process's one reply topic. */
export type ReplyMode = 'ephemeral' | 'instance';

export const REPLY_MODES: readonly ReplyMode[] = ['ephemeral', 'instance'];

/** A ConfigError unless `v` is a reply mode. */
export function checkReplyMode(path: string, v: unknown): void {
  if (!REPLY_MODES.includes(v as ReplyMode)) throw new ConfigError(path, `must be 'ephemeral' or 'instance', got ${JSON.stringify(v)}`);
}
