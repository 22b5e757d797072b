import { resolveConnection, type ConnectionOptions } from '../kafka/client';
import { KafkaClient } from '../kafka/kafka-client';
import { HEARTBEAT_HEADER, type CallOptions, type CallOutcome } from './calls';
import { ephemeralTopicTime } from '../naming';
import type { ReplyMode } from '../reply-mode';
import { EphemeralRequester } from './ephemeral';
import { InstanceRequester } from './instance';
import type { Producers } from '../kafka/producer';
import { Sweeper } from './sweeper';
import type { ReplyReader } from '../kafka/reply-reader';
import { TransportError } from '../errors';
import type { TopicAdmin } from '../kafka/topics';

/**
 * How often the heartbeat is written on the return topics in use: a third
 * of the sweepers' TTL (`sweepOlderThanMs`, the same in every process unless
 * someone changed it), at most a minute, at least a second.
 */
export function heartbeatInterval(sweepOlderThanMs: number): number {
  return Math.max(1000, Math.min(60000, Math.floor(sweepOlderThanMs / 3)));
}

/** Deadline of creating the instance reply topic. */
const INSTANCE_START_TIMEOUT_MS = 60000;

export interface TransportOptions {
  connection: ConnectionOptions;
  ephemeralTopicPrefix: string;
  /** Instance mode's reply topic when an operator made it (see InstanceRequesterOptions.replyTopic). */
  replyTopic?: string;
  /** How long a fetch of the reply reader waits at the broker. */
  listenerMaxWaitMs: number;
  /** Ephemeral return topics created ahead of the calls (0: each call creates its own). */
  spareReturnTopics: number;
  /** Ephemeral return topics made per second at most (0: no cap). */
  maxReturnTopicsPerSecond: number;
  /** Replicas of the return topics this process makes (-1: the brokers' default). */
  returnTopicReplicationFactor: number;
  /** Sweep orphaned return topics every this many ms (and once at start); 0: never. */
  sweepIntervalMs: number;
  sweepOlderThanMs: number;
  onError: (error: unknown) => void;
}

/** The Kafka plumbing a Reactor or a Pipeline owns: one client (admin, producers, consumers) and a requester per reply mode. */
export class Transport {
  readonly client: KafkaClient;
  readonly admin: TopicAdmin;
  readonly producers: Producers;
  readonly requester: EphemeralRequester;
  /** The instance-mode requester: its reply topic is created at its first call (or start()). */
  readonly instance: InstanceRequester;
  readonly sweeper: Sweeper | undefined;
  /** Reads the return topics of both modes, without consumer groups. */
  readonly reader: ReplyReader;
  private readonly replyTopic: string | undefined;
  private readonly prefix: string;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(options: TransportOptions) {
    this.replyTopic = options.replyTopic;
    this.prefix = options.ephemeralTopicPrefix;
    this.client = new KafkaClient(resolveConnection(options.connection));
    this.admin = this.client.admin;
    this.producers = this.client.producers;
    this.admin.onDeleteError = (topics, e) =>
      options.onError(new TransportError(`could not delete ${topics.join(', ')} (retried at close; the sweeper removes what is left)`, e));
    this.reader = this.client.replyReader({
      maxWaitMs: options.listenerMaxWaitMs,
      onMessage: (m) => (m.topic === this.instance.topic ? this.instance.deliver(m) : this.requester.deliver(m)),
      onLost: (topic, e) => (topic === this.instance.topic ? this.instance.lost(e) : this.requester.lost(topic, e)),
      onError: options.onError,
    });
    this.requester = new EphemeralRequester(this.client, this.reader, {
      topicPrefix: options.ephemeralTopicPrefix,
      spareTopics: options.spareReturnTopics,
      maxTopicsPerSecond: options.maxReturnTopicsPerSecond,
      replicationFactor: options.returnTopicReplicationFactor,
      onError: options.onError,
    });
    this.instance = new InstanceRequester(this.client, this.reader, {
      topicPrefix: options.ephemeralTopicPrefix,
      ...(options.replyTopic !== undefined && { replyTopic: options.replyTopic }),
      startTimeoutMs: INSTANCE_START_TIMEOUT_MS,
      replicationFactor: options.returnTopicReplicationFactor,
      onError: options.onError,
    });
    const everyMs = heartbeatInterval(options.sweepOlderThanMs);
    this.heartbeat = setInterval(() => this.beat(everyMs), everyMs);
    this.heartbeat.unref();
    this.sweeper =
      options.sweepIntervalMs > 0
        ? new Sweeper(this.admin, {
            intervalMs: options.sweepIntervalMs,
            olderThanMs: options.sweepOlderThanMs,
            prefix: options.ephemeralTopicPrefix,
            owned: () => this.ownedTopics,
            onError: options.onError,
          })
        : undefined;
  }

  /**
   * A record on each return topic this process reads and has had for longer
   * than `everyMs` (its instance topic; an ephemeral one whose call lasts),
   * all in one request: another process's sweeper takes a topic written to
   * within its TTL for one in use.
   */
  private beat(everyMs: number): void {
    const now = Date.now();
    const topics = this.requester.inUse.filter((t) => now - (ephemeralTopicTime(t, this.prefix) ?? now) >= everyMs);
    if (this.instance.started && this.replyTopic === undefined) topics.push(this.instance.topic);
    for (const t of topics) this.producers.sendReply(t, { key: null, value: null, headers: { [HEARTBEAT_HEADER]: '1' } }).catch(() => undefined);
  }

  /** Resolves when a bootstrap broker accepts a connection; else one clear TransportError within the connection timeout (see checkReachable). */
  reach(): Promise<void> {
    return this.client.reach();
  }

  /**
   * Ready the calls of `mode`, the one start sequence of a Reactor and a
   * Pipeline: the producers connected; in instance mode the reply topic
   * made and handed to the reply reader; in ephemeral mode, when `checkCreate`, the right to create
   * return topics checked (an AuthorizationError if not).
   */
  async startCalls(mode: ReplyMode, checkCreate: boolean): Promise<void> {
    await this.producers.connect();
    if (mode === 'instance') await this.instance.start();
    else if (checkCreate) await this.admin.checkCreate(this.prefix);
  }

  /** Return topics this transport created and has not deleted yet (both modes). */
  get ownedTopics(): Set<string> {
    // An operator's reply topic is never this process's to delete, nor any sweeper's.
    return new Set([...this.requester.owned, ...this.instance.owned, ...(this.replyTopic === undefined ? [] : [this.replyTopic])]);
  }

  /** A request/reply call in the given mode. */
  call<R>(mode: ReplyMode, topic: string, data: unknown, opts: CallOptions): Promise<CallOutcome<R>> {
    return mode === 'instance' ? this.instance.call<R>(topic, data, opts) : this.requester.call<R>(topic, data, opts);
  }

  /**
   * Both modes together: replies dropped (late or foreign; duplicates) and
   * retries made; and messages written again because no partition's answer
   * confirmed them (see Producers.resent).
   */
  get callCounters(): { ignored: number; duplicates: number; retries: number; resent: number } {
    return {
      resent: this.producers.resent,
      ignored: this.requester.ignoredReplies + this.instance.ignoredReplies,
      duplicates: this.requester.duplicateReplies + this.instance.duplicateReplies,
      retries: this.requester.retries + this.instance.retries,
    };
  }

  /** Close in order, each step even if an earlier one failed; rethrow the first failure. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const errors: unknown[] = [];
    for (const step of [
      async () => this.sweeper?.stop(),
      () => this.requester.close(),
      () => this.instance.close(),
      () => this.reader.close(),
      () => this.client.close(),
    ]) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
