import { sendFailure } from './send-errors';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { TransportError } from '../errors';
import { COALESCING, CoalescingSender } from './coalesce';
import type { OutboundMessage } from './producer';

/** Short retries of reply producers (see ReplyProducerPool). */
export const REPLY_RETRY = { retries: 2, initialRetryTime: 50, maxRetryTime: 500 };

interface Entry {
  producer: Producer;
  connected: Promise<void>;
  inFlight: number;
  lastUsed: number;
}

export interface ReplyProducerPoolOptions {
  /** Producers kept at most (idle ones beyond it are closed, least recently used first). */
  maxProducers: number;
  /** A producer unused for this long is closed. */
  idleMs: number;
}

/**
 * One producer per return topic, kept while that topic is used.
 *
 * kafkajs #1622: a producer remembers every topic it has sent to and
 * refreshes metadata for all of them; once one is deleted (as every return
 * topic is, sooner or later), its refreshes fail and it cannot send to any
 * new topic. A producer that only ever sends to one topic cannot be broken by
 * another topic's deletion, and when its own topic is gone it is dropped.
 *
 * So an ephemeral return topic (one reply) costs a connect, as a one-shot
 * producer would; an instance-mode reply topic (a caller process's, many
 * replies) keeps a warm producer.
 *
 * Retries are short: a return topic exists before its request is sent, so
 * "unknown topic" means its caller deleted it, and kafkajs' default retries
 * would take about 8 s to say so while the partition behind the message
 * waits; these take about 170 ms (a new topic's metadata reaches every
 * broker far sooner). Other failures also surface sooner, and the Reactor
 * then reads the message again.
 */
export class ReplyProducerPool {
  /** In least-recently-used order (a Map keeps insertion order; a use moves an entry to the end). */
  private readonly entries = new Map<string, Entry>();
  private readonly closing = new Set<Promise<void>>();
  private readonly sending = new Set<Promise<void>>();
  private readonly coalescer = new CoalescingSender((topic, messages) => this.sendWith(topic, messages), COALESCING);
  private readonly sweep: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ReplyProducerPoolOptions,
  ) {
    this.sweep = setInterval(() => this.trim(), Math.max(100, Math.min(options.idleMs, 10000)));
    this.sweep.unref();
  }

  send(topic: string, messages: OutboundMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError('producer is closed', undefined, false));
    const work = this.coalescer.send(topic, messages);
    const tracked = work.catch(() => undefined);
    this.sending.add(tracked);
    void tracked.finally(() => this.sending.delete(tracked));
    return work;
  }

  private async sendWith(topic: string, messages: OutboundMessage[]): Promise<void> {
    const entry = this.entry(topic);
    entry.inFlight++;
    try {
      await entry.connected;
      await entry.producer.send({ topic, messages });
    } catch (e) {
      // Whatever broke (a deleted topic, a lost connection), the next reply to
      // this topic starts from a fresh producer.
      this.drop(topic, entry);
      throw sendFailure(this.kafka, topic, e, 'to write a reply to it');
    } finally {
      entry.inFlight--;
      entry.lastUsed = Date.now();
      this.trim();
    }
  }

  private entry(topic: string): Entry {
    const existing = this.entries.get(topic);
    if (existing) {
      this.entries.delete(topic);
      this.entries.set(topic, existing);
      return existing;
    }
    const producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, retry: REPLY_RETRY });
    const entry: Entry = { producer, connected: producer.connect(), inFlight: 0, lastUsed: Date.now() };
    entry.connected.catch(() => undefined);
    this.entries.set(topic, entry);
    return entry;
  }

  private drop(topic: string, entry: Entry): void {
    if (this.entries.get(topic) === entry) this.entries.delete(topic);
    const work = entry.connected
      .catch(() => undefined)
      .then(() => entry.producer.disconnect())
      .catch(() => undefined);
    this.closing.add(work);
    void work.finally(() => this.closing.delete(work));
  }

  /** Close idle producers, and the least recently used ones beyond the limit. */
  private trim(): void {
    const now = Date.now();
    let excess = this.entries.size - this.options.maxProducers;
    for (const [topic, entry] of [...this.entries]) {
      if (entry.inFlight > 0) continue;
      if (excess > 0 || now - entry.lastUsed >= this.options.idleMs) {
        this.drop(topic, entry);
        excess--;
      }
    }
  }

  /** Wait for sends in flight to end, then disconnect every producer. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    await Promise.all([...this.sending]);
    for (const [topic, entry] of [...this.entries]) this.drop(topic, entry);
    await Promise.all([...this.closing]);
  }
}
