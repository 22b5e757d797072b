/**
 * Matching replies to the calls waiting for them, by correlation id. Each
 * call is settled once, by the first reply that names it; a second reply
 * with the same id (a service that answered twice, a message redone after a
 * failover) and a reply to a call that is no longer waiting (it timed out or
 * was never made here) are counted and dropped, never delivered. A NestJS
 * end-of-stream message after the reply it ends is neither: it is dropped
 * uncounted.
 */
import type { MessageHeaders } from './bytes';
import { parseReply, type InboundReply } from './wire';

/** What became of a reply: handed to its call, a second one for a settled call, one no call here waits for, or a NestJS end-of-stream after its reply. */
export type MatchOutcome = 'matched' | 'duplicate' | 'ignored' | 'end-of-stream';

/** How many settled ids are remembered to tell a duplicate from a stray reply. */
const REMEMBERED = 4096;

export class ReplyMatcher {
  private readonly waiting = new Map<string, (reply: InboundReply) => void>();
  /** Ids settled recently, oldest first (a Set keeps insertion order). */
  private readonly settled = new Set<string>();
  /** Replies whose id no call here is waiting for: late (after a timeout) or foreign. */
  ignored = 0;
  /** Second and later replies to a call already settled. */
  duplicates = 0;

  constructor(private readonly remembered = REMEMBERED) {}

  get pending(): number {
    return this.waiting.size;
  }

  /** Wait for the reply that names `correlationId`; `forget` when the call gives up. */
  expect(correlationId: string, onReply: (reply: InboundReply) => void): void {
    this.waiting.set(correlationId, onReply);
  }

  forget(correlationId: string): void {
    this.waiting.delete(correlationId);
  }

  /** Parse an untrusted message (ProtocolError if it is not a reply) and hand the reply to its call. */
  deliver(value: Buffer | string | null, headers: MessageHeaders = {}): MatchOutcome {
    const reply = parseReply(value, headers);
    const id = reply.correlationId;
    const onReply = this.waiting.get(id);
    if (onReply === undefined) {
      const duplicate = this.settled.has(id);
      if (duplicate && 'completion' in reply) return 'end-of-stream';
      if (duplicate) this.duplicates++;
      else this.ignored++;
      return duplicate ? 'duplicate' : 'ignored';
    }
    this.waiting.delete(id);
    this.settled.add(id);
    if (this.settled.size > this.remembered) this.settled.delete(this.settled.values().next().value!);
    onReply(reply);
    return 'matched';
  }
}
