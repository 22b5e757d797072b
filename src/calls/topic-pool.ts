import type { TopicAdmin } from '../kafka/topics';
import { newEphemeralTopic } from '../naming';

export interface TopicPoolOptions {
  prefix: string;
  /** Topics kept ready beyond the calls in flight. 0 turns the pool off (each call creates its topic). */
  spare: number;
  /** At most this many topics ready at once. */
  max: number;
  /**
   * A ready topic older than this is deleted instead of used: the sweepers
   * of other processes take an unused return topic for an orphan once it is
   * older than their TTL (5 min by default), so a ready topic must be used
   * well before.
   */
  maxAgeMs: number;
  /** Adds a topic to its owner's set from the start of its creation (for close and the sweeper). */
  own: (topic: string) => void;
  /** Gives a topic back to be deleted (it was never used). */
  discard: (topic: string) => void;
  onError: (error: unknown) => void;
}

/**
 * Return topics created ahead of the calls that will use them, in batches
 * (one createTopics for several), so that an ephemeral call does not wait
 * for its topic's creation. The stock is `spare` beyond the calls in flight,
 * more while calls find it empty (up to `max`). Each topic still serves exactly one call: fresh,
 * never reused. A call that finds none ready creates its own, as before.
 */
export class TopicPool {
  private readonly ready: { topic: string; createdAt: number }[] = [];
  private creating = 0;
  /** Grows while calls find nothing ready (back-to-back calls outrun one small batch), shrinks while topics wait unused. */
  private extra = 0;
  private refilling: Promise<void> | undefined;
  private closed = false;
  /** After a failed refill, none until then (doubling up to 30 s while they keep failing). */
  private retryAt = 0;
  private failures = 0;
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    private readonly admin: TopicAdmin,
    private readonly options: TopicPoolOptions,
  ) {}

  /** Delete spares that have waited too long, even when no call comes to find them. */
  private expire(): void {
    const now = Date.now();
    for (let i = this.ready.length - 1; i >= 0; i--) {
      if (now - this.ready[i]!.createdAt >= this.options.maxAgeMs) this.options.discard(this.ready.splice(i, 1)[0]!.topic);
    }
    if (this.ready.length === 0 && this.expiry) {
      clearInterval(this.expiry);
      this.expiry = undefined;
    }
  }

  /** A ready topic, or undefined; starts a refill for the calls in flight and after. */
  take(inFlight: number): string | undefined {
    const now = Date.now();
    let taken: string | undefined;
    while (this.ready.length > 0 && taken === undefined) {
      const t = this.ready.shift()!;
      if (now - t.createdAt < this.options.maxAgeMs) taken = t.topic;
      else this.options.discard(t.topic);
    }
    if (taken === undefined && this.failures === 0) this.extra = Math.min(this.options.max, this.extra + 2);
    else if (this.ready.length > this.options.spare) this.extra = Math.max(0, this.extra - 1);
    this.refill(inFlight);
    return taken;
  }

  private refill(inFlight: number): void {
    if (this.closed || this.options.spare === 0 || this.refilling || Date.now() < this.retryAt) return;
    const want = Math.min(this.options.max, this.options.spare + this.extra + inFlight) - this.ready.length - this.creating;
    if (want <= 0) return;
    const topics = Array.from({ length: want }, () => newEphemeralTopic(this.options.prefix));
    for (const t of topics) this.options.own(t);
    this.creating += topics.length;
    this.refilling = this.admin
      .create(
        topics.map((topic) => ({ topic })),
        undefined,
        { writable: false, prefix: this.options.prefix },
      )
      .then(
        () => {
          const createdAt = Date.now();
          this.failures = 0;
          for (const topic of topics) this.closed ? this.options.discard(topic) : this.ready.push({ topic, createdAt });
          if (!this.closed && this.ready.length > 0 && !this.expiry) {
            this.expiry = setInterval(() => this.expire(), Math.min(10000, this.options.maxAgeMs));
            this.expiry.unref();
          }
        },
        (e: unknown) => {
          // Some may exist: hand them all back for deletion, and let calls
          // create their own; try again later, not at every call.
          for (const topic of topics) this.options.discard(topic);
          this.failures++;
          this.extra = 0;
          this.retryAt = Date.now() + Math.min(30000, 500 * 2 ** (this.failures - 1));
          this.options.onError(e);
        },
      )
      .finally(() => {
        this.creating -= topics.length;
        this.refilling = undefined;
      });
  }

  /** Stop refilling; hand every ready topic back for deletion. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.expiry);
    this.expiry = undefined;
    await this.refilling;
    for (const t of this.ready.splice(0)) this.options.discard(t.topic);
  }
}
