import { TransportError } from '../errors';
import type { TopicAdmin } from '../kafka/topics';
import { newEphemeralTopic } from '../naming';

/** A return topic that exists, with its partition's leader. */
export interface ReadyTopic {
  topic: string;
  leader: number;
  /** It was ready when asked for (made ahead): the call waited for no creation. */
  fromStock: boolean;
}

export interface TopicPoolOptions {
  prefix: string;
  /** Topics kept ready beyond the calls that wait, at the least. 0: topics are made only for calls that wait (still batched together). */
  spare: number;
  /** At most this many topics in one CreateTopics. */
  maxBatch: number;
  /** At most this many topics made per second (a token bucket holding one second's worth); 0: no cap. */
  maxPerSecond: number;
  /** Replicas of each topic (-1: the brokers' default). */
  replicationFactor: number;
  /**
   * A ready topic older than this is deleted instead of used: the sweepers
   * of other processes take an unused return topic for an orphan once it is
   * older than their TTL (5 min by default), so a ready topic must be used
   * well before.
   */
  maxAgeMs: number;
  /** Deadline of one batch's creation, leaders included. */
  createTimeoutMs: number;
  /** Adds a topic to its owner's set from the start of its creation (for close and the sweeper). */
  own: (topic: string) => void;
  /** Gives a topic back to be deleted (it was never used, or may exist after a failed creation). */
  discard: (topic: string) => void;
  onError: (error: unknown) => void;
}

interface Waiter {
  resolve: (t: ReadyTopic) => void;
  reject: (e: unknown) => void;
}

/**
 * Return topics made in batches: one CreateTopics for as many topics as the
 * calls need (in KRaft a creation request costs the controller's commit
 * linger, 25 ms by default, whatever its size, so requests are scarce and
 * topics in a request nearly free). Calls that find none ready wait for the
 * next batch, made for all of them at once; the stock kept ahead follows
 * the call rate: twice the calls that arrived while the last batch was
 * made, at least `spare`, at most `maxBatch`, and never more than
 * `maxPerSecond` topics a second (a broker keeps each deleted partition's
 * files open for a minute). Each topic serves exactly one call: fresh,
 * never reused.
 */
export class TopicPool {
  private readonly ready: { topic: string; leader: number; createdAt: number }[] = [];
  private readonly waiters: Waiter[] = [];
  private batch: Promise<void> | undefined;
  /** Calls that took a topic since the batch in flight (or the last one) started. */
  private takenSince = 0;
  /** The stock to keep ready, beyond the waiters. */
  private target: number;
  /** Calls that found the stock empty since the batch in flight started. */
  private starved = 0;
  private closed = false;
  /** After a failed batch, none before then (doubling up to 30 s while they keep failing), unless calls wait. */
  private retryAt = 0;
  private failures = 0;
  private expiry: NodeJS.Timeout | undefined;
  /** Topics that may be made now under maxPerSecond, and when that was counted. */
  private tokens: number;
  private countedAt = Date.now();
  /** Wakes refill() when the cap allows the next topic. */
  private capTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly admin: TopicAdmin,
    private readonly options: TopicPoolOptions,
  ) {
    this.target = options.spare;
    this.tokens = Math.max(1, options.maxPerSecond);
  }

  /** How many topics the cap allows now (Infinity without a cap). */
  private allowed(): number {
    const cap = this.options.maxPerSecond;
    if (cap <= 0) return Infinity;
    const now = Date.now();
    // The bucket holds a second's worth, and never less than one topic (a cap below 1/s still makes one now and then).
    this.tokens = Math.min(Math.max(1, cap), this.tokens + ((now - this.countedAt) / 1000) * cap);
    this.countedAt = now;
    return Math.floor(this.tokens);
  }

  /** Topics ready now. */
  get stock(): number {
    return this.ready.length;
  }

  /**
   * A ready topic: at once if one is in stock, else from the next batch. A
   * caller that stops waiting (its deadline) must still take the promised
   * topic and give it back (`discard`), as it may come later.
   */
  take(): Promise<ReadyTopic> {
    if (this.closed) return Promise.reject(new TransportError('return topics are closed', undefined, false));
    this.takenSince++;
    const now = Date.now();
    while (this.ready.length > 0) {
      const t = this.ready.shift()!;
      if (now - t.createdAt < this.options.maxAgeMs) {
        this.refill();
        return Promise.resolve({ topic: t.topic, leader: t.leader, fromStock: true });
      }
      this.options.discard(t.topic);
    }
    this.starved++;
    const waiting = new Promise<ReadyTopic>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.refill();
    return waiting;
  }

  /** Start a batch when calls wait or the stock runs below half its target, unless one is under way. */
  private refill(): void {
    if (this.closed || this.batch) return;
    const waiting = this.waiters.length;
    if (waiting === 0 && (this.options.spare === 0 || this.ready.length * 2 > this.target || Date.now() < this.retryAt)) return;
    const needed = Math.min(this.options.maxBatch, waiting + Math.max(0, this.target - this.ready.length));
    if (needed <= 0) return;
    const want = Math.min(needed, this.allowed());
    if (want <= 0) {
      // Over the cap: the next topic when the bucket holds one (calls wait meanwhile).
      if (!this.capTimer) {
        this.capTimer = setTimeout(
          () => {
            this.capTimer = undefined;
            this.refill();
          },
          Math.max(1, Math.ceil(((1 - this.tokens) / this.options.maxPerSecond) * 1000)),
        );
        if (waiting === 0) this.capTimer.unref();
      }
      return;
    }
    if (this.options.maxPerSecond > 0) this.tokens -= want;
    const topics = Array.from({ length: want }, () => newEphemeralTopic(this.options.prefix));
    for (const t of topics) this.options.own(t);
    this.takenSince = 0;
    this.starved = 0;
    this.batch = this.admin
      .createBatch(topics, this.options.createTimeoutMs, this.options.prefix, (topic, leader) => this.arrived(topic, leader), this.options.replicationFactor)
      .then(({ ready, failed }) => this.landed(topics, ready, failed))
      .catch((e: unknown) => this.landed(topics, new Map(), new Map(topics.map((t) => [t, e]))))
      .finally(() => {
        this.batch = undefined;
        // Calls that came meanwhile are the next batch's measure; while calls find the stock empty it doubles (they came no faster than topics did).
        if (this.options.spare > 0) {
          const grown = this.starved > 0 ? 2 * Math.max(this.target, this.takenSince) : Math.max(2 * this.takenSince, Math.floor(this.target * 0.9));
          this.target = Math.min(this.options.maxBatch, Math.max(this.options.spare, grown));
        }
        this.refill();
      });
  }

  /** A topic of the batch in flight is ready: to the first call that waits, else to the stock. */
  private arrived(topic: string, leader: number): void {
    if (this.closed) return this.options.discard(topic);
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ topic, leader, fromStock: false });
    else this.ready.push({ topic, leader, createdAt: Date.now() });
  }

  /** The batch is over: what failed is deleted (it may exist), and the calls that waited for it fail with its error if none of it came. */
  private landed(topics: string[], ready: Map<string, number>, failed: Map<string, unknown>): void {
    for (const t of topics) if (!ready.has(t)) this.options.discard(t);
    if (failed.size > 0) {
      const error = failed.values().next().value;
      this.failures++;
      this.retryAt = Date.now() + Math.min(30000, 500 * 2 ** (this.failures - 1));
      // The calls that waited for this batch fail with its error (a refusal stays one); later calls try a new batch.
      if (ready.size === 0) for (const w of this.waiters.splice(0)) w.reject(error);
      try {
        this.options.onError(error);
      } catch {
        // the owner's callback failed; the pool goes on
      }
    } else {
      this.failures = 0;
      this.retryAt = 0;
    }
    if (!this.closed && this.ready.length > 0 && !this.expiry) {
      this.expiry = setInterval(() => this.expire(), Math.min(10000, this.options.maxAgeMs));
      this.expiry.unref();
    }
  }

  /** Delete stock that has waited too long, even when no call comes to find it. */
  private expire(): void {
    const now = Date.now();
    for (let i = this.ready.length - 1; i >= 0; i--) {
      if (now - this.ready[i]!.createdAt >= this.options.maxAgeMs) this.options.discard(this.ready.splice(i, 1)[0]!.topic);
    }
    // Idle: the stock shrinks back to `spare`.
    if (this.takenSince === 0) this.target = this.options.spare;
    if (this.ready.length === 0 && this.expiry) {
      clearInterval(this.expiry);
      this.expiry = undefined;
    }
  }

  /** Stop making topics; calls still waiting fail; every ready topic is handed back for deletion. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.expiry);
    clearTimeout(this.capTimer);
    this.expiry = undefined;
    await this.batch;
    for (const w of this.waiters.splice(0)) w.reject(new TransportError('return topics are closed', undefined, false));
    for (const t of this.ready.splice(0)) this.options.discard(t.topic);
  }
}
