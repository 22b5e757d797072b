import type { Consumer, EachBatchPayload, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import { TransportError } from '../errors';
import { handleBatchConcurrently } from './batch';

export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface GroupConsumerOptions {
  groupId: string;
  topic: string;
  /** Where a new group starts: the beginning of the topic, or its end. */
  fromBeginning: boolean;
  /** Commit offsets (after each message is handled). */
  autoCommit: boolean;
  partitionsConsumedConcurrently?: number;
  /** Messages of one partition handled at once (offsets still committed in order). @defaultValue 1 */
  perPartitionConcurrency?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How long a fetch waits for data; also bounds how long stop() takes. */
  maxWaitTimeInMs?: number;
  /** Deadline for the first assignment after start(). */
  joinTimeoutMs: number;
  /**
   * Told of every crash after start() has resolved. `restarting` is true when
   * kafkajs restarts the consumer by itself (a retriable error); false means
   * this consumer has stopped for good.
   */
  onCrash?: (error: TransportError, restarting: boolean) => void;
  /** Partitions this member gained, after each join. */
  onAssigned?: (partitions: number[]) => void;
  /** Partitions this member lost: to a rebalance, or all of them at stop(). */
  onRevoked?: (partitions: number[], reason: RevokeReason) => void;
}

export type RevokeReason = 'rebalance' | 'shutdown';

/** `handle` must not throw; `heartbeat` keeps the group membership alive during long work. */
export type MessageHandler = (message: InboundMessage, heartbeat: () => Promise<void>) => Promise<void>;

function inbound(topic: string, partition: number, message: KafkaMessage): InboundMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value,
    headers: headersOf(message.headers as Record<string, unknown> | undefined),
    timestamp: message.timestamp,
  };
}

function headersOf(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? String(v[0]) : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

/**
 * A consumer in a group, reading one topic. kafkajs has no manual
 * assignment, so even a one-reply listener joins a group; `start()`
 * resolves once the group is joined (the first assignment is known).
 */
export class GroupConsumer {
  private consumer: Consumer | undefined;
  private stopping: Promise<void> | undefined;
  /** Milliseconds the first join took (kafkajs' own measure). */
  joinDurationMs: number | undefined;
  private stopRequested = false;
  /** Ends a start() in progress (see start). */
  private onStop: (() => void) | undefined;
  /** Partitions of the topic this member holds now. */
  private held: number[] = [];

  get assignment(): readonly number[] {
    return this.held;
  }

  /** kafkajs has no rebalance listener: each join reports the new assignment; the change is ours to compute. */
  private reassigned(now: number[]): void {
    const lost = this.held.filter((p) => !now.includes(p));
    const gained = now.filter((p) => !this.held.includes(p));
    this.held = [...now].sort((a, b) => a - b);
    if (lost.length > 0) this.options.onRevoked?.(lost, 'rebalance');
    if (gained.length > 0) this.options.onAssigned?.(gained.sort((a, b) => a - b));
  }

  constructor(
    private readonly kafka: Kafka,
    private readonly options: GroupConsumerOptions,
  ) {}

  async start(handle: MessageHandler): Promise<void> {
    const o = this.options;
    if (this.stopRequested) throw new TransportError(`consumer of "${o.topic}" was stopped before it started`, undefined, false);
    const consumer = this.kafka.consumer({
      groupId: o.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeInMs,
      // kafkajs restarts a crashed consumer on a timer it sets after its own
      // disconnect: a stop() in between would leave a consumer that starts
      // again, unowned, and keeps the process alive. Never restart once
      // stopping.
      retry: { restartOnFailure: async () => !this.stopRequested },
    });
    this.consumer = consumer;
    let removeJoin = () => {};
    let removeCrash = () => {};
    let timer: NodeJS.Timeout | undefined;
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.reassigned(e.payload.memberAssignment[o.topic] ?? []));
    const joined = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new TransportError(`group "${o.groupId}" did not join on topic "${o.topic}" within ${o.joinTimeoutMs} ms`, undefined)), o.joinTimeoutMs);
      removeJoin = consumer.on(consumer.events.GROUP_JOIN, (e) => {
        clearTimeout(timer);
        this.joinDurationMs = e.payload.duration;
        resolve();
      });
      removeCrash = consumer.on(consumer.events.CRASH, (e) => {
        // A retriable crash before the first join (a fresh cluster answers
        // COORDINATOR_LOAD_IN_PROGRESS while it loads __consumer_offsets) is
        // restarted by kafkajs itself: keep waiting, within joinTimeoutMs.
        if (e.payload.restart) return;
        clearTimeout(timer);
        reject(new TransportError(`consumer of "${o.topic}" crashed`, e.payload.error));
      });
    });
    // connect() or subscribe() may fail before the join is awaited: the join's
    // deadline must then neither fire nor reject unobserved.
    joined.catch(() => undefined);
    // stop() while this is still starting (a call whose deadline passed, a
    // shutdown) ends the start: kafkajs would otherwise go on to subscribe,
    // run and join with a consumer nobody owns any more, which lives on and
    // crashes later (after a test file's end, Jest fails the run for it).
    const stopped = new Promise<never>((_, reject) => {
      this.onStop = () => reject(new TransportError(`consumer of "${o.topic}" was stopped while it started`, undefined, false));
    });
    stopped.catch(() => undefined);
    let pending: Promise<unknown> = Promise.resolve();
    const step = <T>(work: Promise<T>): Promise<T> => {
      pending = work;
      return Promise.race([work, stopped]);
    };
    try {
      await step(consumer.connect());
      await step(consumer.subscribe({ topic: o.topic, fromBeginning: o.fromBeginning }));
      await step(consumer.run({
        autoCommit: o.autoCommit,
        partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 1,
        ...((o.perPartitionConcurrency ?? 1) > 1
          ? {
              eachBatchAutoResolve: false,
              eachBatch: (payload: EachBatchPayload) => handleBatchConcurrently(payload, (m) => handle(inbound(payload.batch.topic, payload.batch.partition, m), payload.heartbeat), o.perPartitionConcurrency!),
            }
          : {
              eachMessage: async ({ topic, partition, message, heartbeat }: EachMessagePayload) => handle(inbound(topic, partition, message), heartbeat),
            }),
      }));
      await step(joined);
      const onCrash = o.onCrash;
      if (onCrash) {
        consumer.on(consumer.events.CRASH, (e) => {
          const restarting = e.payload.restart;
          onCrash(new TransportError(`consumer of "${o.topic}" crashed${restarting ? '; kafkajs is restarting it' : ' and stopped'}`, e.payload.error), restarting);
        });
      }
    } catch (e) {
      await this.stop().catch(() => undefined);
      // A step cut short may still complete (a connect that gets through):
      // disconnect again once it has settled, so that nothing is left open.
      await pending.then(
        () => consumer.disconnect(),
        () => consumer.disconnect(),
      ).catch(() => undefined);
      throw e instanceof TransportError ? e : new TransportError(`could not consume "${o.topic}"`, e);
    } finally {
      this.onStop = undefined;
      clearTimeout(timer);
      removeJoin();
      removeCrash();
    }
  }

  /** Stop fetching, wait for the handler in progress, leave the group. Idempotent. */
  stop(): Promise<void> {
    this.stopRequested = true;
    this.onStop?.();
    this.stopping ??= (async () => {
      const consumer = this.consumer;
      this.consumer = undefined;
      if (consumer) await consumer.disconnect();
      const held = this.held;
      this.held = [];
      if (held.length > 0) this.options.onRevoked?.(held, 'shutdown');
    })();
    return this.stopping;
  }
}
