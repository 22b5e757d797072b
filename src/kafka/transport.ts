import { createKafka, resolveConnection, type ConnectionOptions } from './client';
import { EphemeralRequester } from './ephemeral';
import { Producers } from './producer';
import { Sweeper } from './sweeper';
import { TransportError } from '../errors';
import { TopicAdmin } from './topics';
import type { Kafka } from 'kafkajs';

export interface TransportOptions {
  connection: ConnectionOptions;
  ephemeralTopicPrefix: string;
  listenerMaxWaitMs: number;
  /** Sweep orphaned return topics every this many ms (and once at start); 0: never. */
  sweepIntervalMs: number;
  sweepOlderThanMs: number;
  onError: (error: unknown) => void;
}

/** The Kafka plumbing a Reactor or a Pipeline owns: one client, admin, producers, requester. */
export class Transport {
  readonly kafka: Kafka;
  readonly admin: TopicAdmin;
  readonly producers: Producers;
  readonly requester: EphemeralRequester;
  readonly sweeper: Sweeper | undefined;

  constructor(options: TransportOptions) {
    this.kafka = createKafka(resolveConnection(options.connection));
    this.admin = new TopicAdmin(this.kafka);
    this.admin.onDeleteError = (topics, e) => options.onError(new TransportError(`could not delete ${topics.join(', ')} (retried at close; the sweeper removes what is left)`, e));
    this.producers = new Producers(this.kafka, options.ephemeralTopicPrefix);
    this.requester = new EphemeralRequester(this.kafka, this.admin, this.producers, {
      topicPrefix: options.ephemeralTopicPrefix,
      listenerMaxWaitMs: options.listenerMaxWaitMs,
    });
    this.sweeper =
      options.sweepIntervalMs > 0
        ? new Sweeper(this.admin, {
            intervalMs: options.sweepIntervalMs,
            olderThanMs: options.sweepOlderThanMs,
            prefix: options.ephemeralTopicPrefix,
            owned: () => this.requester.owned,
            onError: options.onError,
          })
        : undefined;
  }

  /** Close in order, each step even if an earlier one failed; rethrow the first failure. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of [async () => this.sweeper?.stop(), () => this.requester.close(), () => this.producers.close(), () => this.admin.close()]) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
