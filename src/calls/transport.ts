import { resolveConnection, type ConnectionOptions } from '../kafka/client';
import { KafkaClient } from '../kafka/kafka-client';
import type { CallOptions, CallOutcome } from './calls';
import type { ReplyMode } from '../reply-mode';
import { EphemeralRequester } from './ephemeral';
import { InstanceRequester } from './instance';
import type { Producers } from '../kafka/producer';
import { Sweeper } from './sweeper';
import { TransportError } from '../errors';
import type { TopicAdmin } from '../kafka/topics';

/** Deadline of creating the instance reply topic and joining its listener. */
const INSTANCE_START_TIMEOUT_MS = 60000;

export interface TransportOptions {
  connection: ConnectionOptions;
  ephemeralTopicPrefix: string;
  /** Instance mode's reply topic when an operator made it (see InstanceRequesterOptions.replyTopic). */
  replyTopic?: string;
  listenerMaxWaitMs: number;
  /** Ephemeral return topics created ahead of the calls (0: each call creates its own). */
  spareReturnTopics: number;
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
  private readonly replyTopic: string | undefined;
  private readonly prefix: string;

  constructor(options: TransportOptions) {
    this.replyTopic = options.replyTopic;
    this.prefix = options.ephemeralTopicPrefix;
    this.client = new KafkaClient(resolveConnection(options.connection));
    this.admin = this.client.admin;
    this.producers = this.client.producers;
    this.admin.onDeleteError = (topics, e) =>
      options.onError(new TransportError(`could not delete ${topics.join(', ')} (retried at close; the sweeper removes what is left)`, e));
    this.requester = new EphemeralRequester(this.client, {
      topicPrefix: options.ephemeralTopicPrefix,
      listenerMaxWaitMs: options.listenerMaxWaitMs,
      spareTopics: options.spareReturnTopics,
      onError: options.onError,
    });
    this.instance = new InstanceRequester(this.client, {
      topicPrefix: options.ephemeralTopicPrefix,
      ...(options.replyTopic !== undefined && { replyTopic: options.replyTopic }),
      listenerMaxWaitMs: options.listenerMaxWaitMs,
      startTimeoutMs: INSTANCE_START_TIMEOUT_MS,
      onError: options.onError,
    });
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

  /** Resolves when a bootstrap broker accepts a connection; else one clear TransportError within the connection timeout (see checkReachable). */
  reach(): Promise<void> {
    return this.client.reach();
  }

  /**
   * Ready the calls of `mode`, the one start sequence of a Reactor and a
   * Pipeline: the producers connected; in instance mode the reply topic and
   * its listener; in ephemeral mode, when `checkCreate`, the right to create
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

  /** Both modes together: replies dropped (late or foreign; duplicates) and retries made. */
  get callCounters(): { ignored: number; duplicates: number; retries: number } {
    return {
      ignored: this.requester.ignoredReplies + this.instance.ignoredReplies,
      duplicates: this.requester.duplicateReplies + this.instance.duplicateReplies,
      retries: this.requester.retries + this.instance.retries,
    };
  }

  /** Close in order, each step even if an earlier one failed; rethrow the first failure. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of [async () => this.sweeper?.stop(), () => this.requester.close(), () => this.instance.close(), () => this.client.close()]) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
