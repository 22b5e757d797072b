import type { Consumer, EachBatchPayload, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import { FusionError, TransportError, type AuthorizationError } from '../errors';
import { authorizationError } from './authz';
import type { MessageHeaders } from '../protocol/bytes';
import { handleBatchConcurrently } from './batch';

export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  /** As it came: any bytes. */
  key: Buffer | null;
  value: Buffer | null;
  /** As they came (kafkajs's): bytes, an array of them for a name sent more than once, null for a header with no value. */
  headers: MessageHeaders;
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
  onCrash?: (error: FusionError, restarting: boolean) => void;
  /**
   * Start a new consumer when kafkajs will not restart a crashed one (it
   * restarts only after errors it deems retriable; a broker that is away
   * when the group's coordinator is looked up crashes it for good, kafkajs
   * #1630). Tried again with backoff until it joins or stop() is called;
   * each crash and attempt is told to onCrash with `restarting` true.
   */
  revive?: boolean;
  /** Partitions this member gained, after each join. */
  onAssigned?: (partitions: number[]) => void;
  /** Partitions this member lost: to a rebalance, or all of them at stop(). */
  onRevoked?: (partitions: number[], reason: RevokeReason) => void;
}

/** `lost`: the consumer crashed and its group membership went with it (see `revive`). */
export type RevokeReason = 'rebalance' | 'shutdown' | 'lost';

/** Backoff of revive: 1 s doubling to 30 s. */
const REVIVE_FIRST_MS = 1000;
const REVIVE_MAX_MS = 30000;

/** `handle` must not throw; `heartbeat` keeps the group membership alive during long work. */
export type MessageHandler = (message: InboundMessage, heartbeat: () => Promise<void>) => Promise<void>;

/** Bytes stay bytes: nothing here decodes a key or a header (docs/protocol.md). */
function inbound(topic: string, partition: number, message: KafkaMessage): InboundMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: (message.headers ?? {}) as MessageHeaders,
    timestamp: message.timestamp,
  };
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
  /** A revival under way (see `revive`); stop() waits for it. */
  private reviving: Promise<void> | undefined;
  /** Ends the pause of a revival at stop(). */
  private wake: (() => void) | undefined;
  /** New consumers started after crashes kafkajs would not restart. */
  revivals = 0;

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

  /** An AuthorizationError when the broker refused this consumer for lack of an ACL (Read on its group or its topic). */
  private refused(e: unknown): AuthorizationError | undefined {
    const { groupId, topic } = this.options;
    return authorizationError(
      this.kafka,
      e,
      { group: { operation: 'Read', resource: groupId, pattern: 'literal' }, topic: { operation: 'Read', resource: topic, pattern: 'literal' } },
      `to consume "${topic}" in group "${groupId}"`,
    );
  }

  constructor(
    private readonly kafka: Kafka,
    private readonly options: GroupConsumerOptions,
  ) {}

  async start(handle: MessageHandler): Promise<void> {
    if (this.stopRequested) throw new TransportError(`consumer of "${this.options.topic}" was stopped before it started`, undefined, false);
    try {
      await this.open(handle);
    } catch (e) {
      await this.stop().catch(() => undefined);
      throw e;
    }
  }

  /**
   * A kafkajs consumer connected, subscribed, running and joined; torn down
   * again if any step fails or stop() is called meanwhile.
   */
  private async open(handle: MessageHandler): Promise<void> {
    const o = this.options;
    const consumer = this.kafka.consumer({
      groupId: o.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeInMs,
      // kafkajs restarts a crashed consumer on a timer it sets after its own
      // disconnect: a stop() in between, or a revival that gave up on this
      // consumer, would leave one that starts again, unowned, and keeps the
      // process alive. Never restart one that is not this member's own.
      retry: { restartOnFailure: async () => !this.stopRequested && this.consumer === consumer },
    });
    this.consumer = consumer;
    let removeJoin = () => {};
    let removeCrash = () => {};
    let timer: NodeJS.Timeout | undefined;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (this.consumer === consumer) this.reassigned(e.payload.memberAssignment[o.topic] ?? []);
    });
    const joined = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new TransportError(`group "${o.groupId}" did not join on topic "${o.topic}" within ${o.joinTimeoutMs} ms`, undefined)),
        o.joinTimeoutMs,
      );
      removeJoin = consumer.on(consumer.events.GROUP_JOIN, (e) => {
        clearTimeout(timer);
        this.joinDurationMs ??= e.payload.duration;
        resolve();
      });
      removeCrash = consumer.on(consumer.events.CRASH, (e) => {
        // A retriable crash before the first join (a fresh cluster answers
        // COORDINATOR_LOAD_IN_PROGRESS while it loads __consumer_offsets) is
        // restarted by kafkajs itself: keep waiting, within joinTimeoutMs.
        if (e.payload.restart) return;
        clearTimeout(timer);
        reject(this.refused(e.payload.error) ?? new TransportError(`consumer of "${o.topic}" crashed`, e.payload.error));
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
      await step(
        consumer.run({
          autoCommit: o.autoCommit,
          partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 1,
          ...((o.perPartitionConcurrency ?? 1) > 1
            ? {
                eachBatchAutoResolve: false,
                eachBatch: (payload: EachBatchPayload) =>
                  handleBatchConcurrently(
                    payload,
                    (m) => handle(inbound(payload.batch.topic, payload.batch.partition, m), payload.heartbeat),
                    o.perPartitionConcurrency!,
                  ),
              }
            : {
                eachMessage: async ({ topic, partition, message, heartbeat }: EachMessagePayload) => handle(inbound(topic, partition, message), heartbeat),
              }),
        }),
      );
      await step(joined);
      consumer.on(consumer.events.CRASH, (e) => {
        const restarting = e.payload.restart;
        const refused = this.refused(e.payload.error);
        // A refusal stays a refusal until an operator grants the ACL: no revival.
        if (!restarting && !refused && o.revive && !this.stopRequested && this.consumer === consumer) {
          // Set before revive() tells anyone (it starts a tick later), so that a stop() from onCrash waits for it.
          const reviving: Promise<void> = Promise.resolve()
            .then(() => this.revive(handle, e.payload.error))
            .catch(() => undefined)
            .finally(() => {
              if (this.reviving === reviving) this.reviving = undefined;
            });
          this.reviving = reviving;
          return;
        }
        o.onCrash?.(
          refused ?? new TransportError(`consumer of "${o.topic}" crashed${restarting ? '; kafkajs is restarting it' : ' and stopped'}`, e.payload.error),
          restarting,
        );
      });
    } catch (e) {
      if (this.consumer === consumer) this.consumer = undefined;
      // A step cut short may still complete (a connect that gets through):
      // disconnect again once it has settled, so that nothing is left open.
      await consumer.disconnect().catch(() => undefined);
      await pending
        .then(
          () => consumer.disconnect(),
          () => consumer.disconnect(),
        )
        .catch(() => undefined);
      throw e instanceof FusionError ? e : (this.refused(e) ?? new TransportError(`could not consume "${o.topic}"`, e));
    } finally {
      this.onStop = undefined;
      clearTimeout(timer);
      removeJoin();
      removeCrash();
    }
  }

  /**
   * kafkajs has crashed the consumer for good (it has disconnected it):
   * start a new one, with backoff, until one joins or stop() is called. The
   * crashed member's partitions are lost; the new member's join assigns
   * them again, and its uncommitted messages are read again.
   */
  private async revive(handle: MessageHandler, cause: unknown): Promise<void> {
    const o = this.options;
    this.consumer = undefined;
    const lost = this.held;
    this.held = [];
    // A callback that throws must not end the revival.
    const tell = (fn: () => void) => {
      try {
        fn();
      } catch {
        // the callback's own failure; the consumer's life goes on
      }
    };
    if (lost.length > 0) tell(() => o.onRevoked?.(lost, 'lost'));
    for (let attempt = 1; !this.stopRequested; attempt++) {
      const waitMs = Math.min(REVIVE_MAX_MS, REVIVE_FIRST_MS * 2 ** (attempt - 1));
      const what = attempt === 1 ? 'crashed and kafkajs will not restart it' : `could not be started again (attempt ${attempt - 1})`;
      const paused = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      tell(() => o.onCrash?.(new TransportError(`consumer of "${o.topic}" ${what}; starting a new one in ${waitMs} ms`, cause), true));
      await paused;
      this.wake = undefined;
      if (this.stopRequested) return;
      try {
        await this.open(handle);
        this.revivals++;
        return;
      } catch (e) {
        const refused = this.refused(e);
        if (refused) {
          // Only an operator's grant changes that: stop trying, and say why.
          tell(() => o.onCrash?.(refused, false));
          return;
        }
        cause = e;
      }
    }
  }

  /** Stop fetching, wait for the handler in progress, leave the group. Idempotent. */
  stop(): Promise<void> {
    this.stopRequested = true;
    this.onStop?.();
    this.wake?.();
    this.stopping ??= (async () => {
      // A revival's open() ends at onStop and tears its consumer down itself.
      await this.reviving?.catch(() => undefined);
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
