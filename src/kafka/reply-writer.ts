import type { Kafka } from 'kafkajs';
import { TransportError } from '../errors';
import type { DirectLink, KafkaError } from './direct';
import type { OutboundMessage } from './producer';
import { sendFailure } from './send-errors';

/** Tries of a reply after a leader moved or a new topic's metadata has not reached the broker asked: 50, 100, 200 ms apart. */
const RETRIES = 3;
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

interface Queued {
  topic: string;
  partition: number;
  messages: OutboundMessage[];
  settle: { resolve: () => void; reject: (e: unknown) => void }[];
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
  private queue = new Map<string, Queued>();
  private scheduled = false;
  private readonly writing = new Set<Promise<void>>();
  private closed = false;
  /** Produce requests sent (for the benchmark and tests). */
  requests = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly direct: DirectLink,
  ) {}

  /** Resolves when the broker has acknowledged the messages (all in-sync replicas); rejects as `sendFailure` says. */
  send(topic: string, messages: OutboundMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError('producer is closed', undefined, false));
    // A message names its partition (a foreign caller's kafka_replyPartition) or goes to partition 0, where return topics have their one.
    const byPartition = new Map<number, OutboundMessage[]>();
    for (const m of messages) byPartition.set(m.partition ?? 0, [...(byPartition.get(m.partition ?? 0) ?? []), m]);
    return Promise.all(
      [...byPartition].map(
        ([partition, list]) =>
          new Promise<void>((resolve, reject) => {
            const key = `${partition}:${topic}`;
            const q = this.queue.get(key) ?? { topic, partition, messages: [], settle: [] };
            q.messages.push(...list);
            q.settle.push({ resolve, reject });
            this.queue.set(key, q);
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
      const batch = [...this.queue.values()];
      this.queue = new Map();
      const work = this.write(batch, 0);
      this.writing.add(work);
      void work.finally(() => this.writing.delete(work));
    });
  }

  private async write(batch: Queued[], attempt: number): Promise<void> {
    const again: Queued[] = [];
    const fail = (q: Queued, error: unknown) => {
      this.leaders.delete(q.topic);
      if (attempt < RETRIES && this.transient(error)) again.push(q);
      else {
        const e = sendFailure(this.kafka, q.topic, error, 'to write a reply to it');
        for (const s of q.settle) s.reject(e);
      }
    };
    const leaderOf = (q: Queued) => this.leaders.get(q.topic)?.get(q.partition);
    const unknown = [...new Set(batch.filter((q) => leaderOf(q) === undefined).map((q) => q.topic))];
    if (unknown.length > 0) {
      try {
        const found = await this.direct.leaders(unknown);
        for (const [t, f] of found) if (f.partitions && f.partitions.size > 0) this.remember(t, f.partitions);
        for (const q of batch) {
          if (leaderOf(q) !== undefined) continue;
          const f = found.get(q.topic);
          // A partition the topic does not have is not cured by waiting (a new topic's own partition may be: it has no leader yet).
          if (f?.partitions && f.partitions.size > 0 && q.partition > Math.max(...f.partitions.keys())) {
            const e = Object.assign(new Error(`"${q.topic}" has no partition ${q.partition}`), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
            for (const s of q.settle) s.reject(new TransportError(`could not send to "${q.topic}"`, e, false, 'refused'));
          } else fail(q, f?.error ?? Object.assign(new Error(`no leader for partition ${q.partition} of "${q.topic}"`), { type: 'LEADER_NOT_AVAILABLE' }));
        }
      } catch (e) {
        for (const q of batch) if (leaderOf(q) === undefined) fail(q, e);
      }
    }
    const byLeader = new Map<number, Queued[]>();
    for (const q of batch) {
      const leader = leaderOf(q);
      if (leader !== undefined && !again.includes(q)) byLeader.set(leader, [...(byLeader.get(leader) ?? []), q]);
    }
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        this.requests++;
        const answers = await this.direct.produce(
          leader,
          list.map((q) => ({
            topic: q.topic,
            partition: q.partition,
            messages: q.messages.map((m) => ({ key: m.key ?? null, value: m.value, headers: m.headers ?? {} })),
          })),
          PRODUCE_TIMEOUT_MS,
        );
        for (const q of list) {
          const error = answers.get(`${q.partition}:${q.topic}`);
          if (error) fail(q, error);
          else for (const s of q.settle) s.resolve();
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
    return TRANSIENT.has(e.type ?? '') || /Connection|Timeout/i.test(e.name ?? '');
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
