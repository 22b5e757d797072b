import type { Kafka } from 'kafkajs';
import { TransportError } from '../errors';
import { append, type DirectLink, type KafkaError, type TopicLeader } from './direct';
import type { OutboundMessage } from './producer';
import { sendFailure } from './send-errors';

/** Tries of a reply after a leader moved or a new topic's metadata has not reached the broker asked: 50 ms doubling, about 1.5 s in all. */
const RETRIES = 5;
/** At most this many bytes of messages for one partition in one request (the broker refuses more than message.max.bytes, 1 MB, by default). */
const MAX_BATCH_BYTES = 512 * 1024;
const RETRY_FIRST_MS = 50;
/** Leaders remembered, most recently used kept. */
const MAX_LEADERS = 10000;
const PRODUCE_TIMEOUT_MS = 30000;

/** Produce errors a moment cures: a leader moving or not yet answering for a new partition, metadata behind. */
const TRANSIENT = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'REQUEST_TIMED_OUT',
  'KAFKA_STORAGE_ERROR',
]);

/** The messages of one send() for one partition, and how to tell it the outcome. */
interface Part {
  messages: OutboundMessage[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** One partition's messages for one request: the parts of one or more sends, at most MAX_BATCH_BYTES. */
interface Queued {
  topic: string;
  partition: number;
  parts: Part[];
  bytes: number;
}

function sizeOf(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (Buffer.isBuffer(v)) return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + sizeOf(x), 0);
  return Buffer.byteLength(String(v));
}

function bytesOf(messages: OutboundMessage[]): number {
  let n = 0;
  for (const m of messages) {
    n += sizeOf(m.key) + sizeOf(m.value) + 70; // a record's own overhead, about
    for (const [k, v] of Object.entries(m.headers ?? {})) n += Buffer.byteLength(k) + sizeOf(v);
  }
  return n;
}

/**
 * Replies to return topics, written without a kafkajs producer: every
 * reply queued in one tick goes out in one Produce request per leader,
 * answered per topic. A return topic lives for one reply in ephemeral mode:
 * a producer per topic cost a connect per reply, and one producer for all
 * of them breaks once a topic it wrote to is deleted (kafkajs #1622, its
 * metadata refreshes name every topic it has known). Here leaders are
 * looked up by name, in batches, and forgotten when a write fails.
 */
export class ReplyWriter {
  /** Per topic, each partition's leader. */
  private readonly leaders = new Map<string, Map<number, number>>();
  /** Per `<partition>:<topic>`, requests' worth of messages in order: the first goes in the next request, the rest after. */
  private queue = new Map<string, Queued[]>();
  private scheduled = false;
  private readonly writing = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly direct: DirectLink,
  ) {}

  /** Resolves when the broker has acknowledged the messages (all in-sync replicas); rejects as `sendFailure` says. */
  send(topic: string, messages: OutboundMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError('producer is closed', undefined, false));
    // A message names its partition (a foreign caller's kafka_replyPartition) or goes to partition 0, where return topics have their one.
    const byPartition = new Map<number, OutboundMessage[]>();
    for (const m of messages) append(byPartition, m.partition ?? 0, m);
    return Promise.all(
      [...byPartition].map(
        ([partition, list]) =>
          new Promise<void>((resolve, reject) => {
            const key = `${partition}:${topic}`;
            const bytes = bytesOf(list);
            const queued = this.queue.get(key) ?? [];
            const last = queued[queued.length - 1];
            const part = { messages: list, resolve, reject };
            if (last && last.bytes + bytes <= MAX_BATCH_BYTES) {
              last.parts.push(part);
              last.bytes += bytes;
            } else queued.push({ topic, partition, parts: [part], bytes });
            this.queue.set(key, queued);
            this.schedule();
          }),
      ),
    ).then(() => undefined);
  }

  /** Everything queued in this tick goes out together. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // One request's worth per partition; what is left goes in the next tick's request (on the same connection, in order).
      const batch: Queued[] = [];
      for (const [key, queued] of this.queue) {
        batch.push(queued.shift()!);
        if (queued.length === 0) this.queue.delete(key);
      }
      if (this.queue.size > 0) this.schedule();
      const work = this.write(batch, 0).catch(() => undefined);
      this.writing.add(work);
      void work.finally(() => this.writing.delete(work));
    });
  }

  private async write(batch: Queued[], attempt: number): Promise<void> {
    const again: Queued[] = [];
    const fail = (q: Queued, error: unknown) => {
      this.leaders.delete(q.topic);
      const types = [(error as KafkaError).type];
      if (q.parts.length > 1 && (types.includes('MESSAGE_TOO_LARGE') || types.includes('RECORD_LIST_TOO_LARGE'))) {
        // Together too large for the broker: each send on its own, so that only one too large itself fails.
        for (const part of q.parts) again.push({ topic: q.topic, partition: q.partition, parts: [part], bytes: bytesOf(part.messages) });
      } else if (attempt < RETRIES && this.transient(error)) again.push(q);
      else {
        const e = sendFailure(this.kafka, q.topic, error, 'to write a reply to it');
        for (const part of q.parts) part.reject(e);
      }
    };
    const leaderOf = (q: Queued) => this.leaders.get(q.topic)?.get(q.partition);
    const unknown = [...new Set(batch.filter((q) => leaderOf(q) === undefined).map((q) => q.topic))];
    let found: Map<string, TopicLeader> | undefined;
    let lookupError: unknown;
    if (unknown.length > 0) {
      try {
        found = await this.direct.leaders(unknown);
        for (const [t, f] of found) if (f.partitions && f.partitions.size > 0) this.remember(t, f.partitions);
      } catch (e) {
        lookupError = e;
      }
    }
    // Each partition's messages are routed once, before a failure below makes its topic's leaders be looked up again next time.
    const byLeader = new Map<number, Queued[]>();
    const unrouted: Queued[] = [];
    for (const q of batch) {
      const leader = leaderOf(q);
      if (leader !== undefined) append(byLeader, leader, q);
      else unrouted.push(q);
    }
    for (const q of unrouted) {
      if (lookupError !== undefined) {
        fail(q, lookupError);
        continue;
      }
      const f = found?.get(q.topic);
      // A partition the topic does not have is not cured by waiting (a new topic's own partition may be: it has no leader yet).
      if (f?.partitions && f.partitions.size > 0 && q.partition > Math.max(...f.partitions.keys())) {
        const e = Object.assign(new Error(`"${q.topic}" has no partition ${q.partition}`), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
        for (const part of q.parts) part.reject(new TransportError(`could not send to "${q.topic}"`, e, false, 'refused'));
      } else fail(q, f?.error ?? Object.assign(new Error(`no leader for partition ${q.partition} of "${q.topic}"`), { type: 'LEADER_NOT_AVAILABLE' }));
    }
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        const answers = await this.direct.produce(
          leader,
          list.map((q) => ({
            topic: q.topic,
            partition: q.partition,
            messages: q.parts.flatMap((part) => part.messages.map((m) => ({ key: m.key ?? null, value: m.value, headers: m.headers ?? {} }))),
          })),
          PRODUCE_TIMEOUT_MS,
        );
        for (const q of list) {
          const error = answers.get(`${q.partition}:${q.topic}`);
          if (error) fail(q, error);
          else for (const part of q.parts) part.resolve();
        }
      }),
    );
    if (again.length > 0) {
      await new Promise((r) => setTimeout(r, RETRY_FIRST_MS * 2 ** attempt));
      await this.write(again, attempt + 1);
    }
  }

  private transient(error: unknown): boolean {
    const e = error as KafkaError;
    return TRANSIENT.has(e.type ?? '') || /Connection|Timeout/i.test(e.name ?? '') || e.message === 'Broker not connected';
  }

  private remember(topic: string, leaders: Map<number, number>): void {
    this.leaders.delete(topic);
    this.leaders.set(topic, leaders);
    if (this.leaders.size > MAX_LEADERS) this.leaders.delete(this.leaders.keys().next().value!);
  }

  /** Wait for writes in flight (and those queued), then refuse new ones. Idempotent. */
  async close(): Promise<void> {
    while (this.scheduled || this.writing.size > 0) {
      if (this.scheduled) await new Promise((r) => setImmediate(r));
      await Promise.all([...this.writing]);
    }
    this.closed = true;
  }
}
