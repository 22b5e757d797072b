import type { Kafka } from 'kafkajs';
import { createKafka, type ResolvedConnection } from './client';
import { GroupConsumer, type GroupConsumerOptions } from './consumer';
import { DirectLink } from './direct';
import { ReplyReader, type ReplyReaderOptions } from './reply-reader';
import { Producers } from './producer';
import { checkReachable } from './reach';
import { TopicDirectory } from './topic-directory';
import { TopicAdmin } from './topics';

/**
 * The adapter's one door: a kafkajs client and what the library makes of
 * it (an admin, the producers, group consumers). Above this folder nothing
 * sees kafkajs: failures come out as the library's typed errors.
 */
export class KafkaClient {
  readonly admin: TopicAdmin;
  readonly producers: Producers;
  private readonly kafka: Kafka;
  /** kafkajs's cluster layer used directly: per-topic answers, group-less fetches. */
  private readonly direct: DirectLink;

  constructor(private readonly connection: ResolvedConnection) {
    this.kafka = createKafka(connection);
    this.direct = new DirectLink(this.kafka);
    this.admin = new TopicAdmin(this.kafka, this.direct);
    this.producers = new Producers(
      this.kafka,
      new TopicDirectory(
        () => this.admin.list(''),
        undefined,
        (topic) => this.admin.missing(topic),
      ),
      this.direct,
    );
  }

  /** A consumer in a group, not started. */
  consumer(options: GroupConsumerOptions): GroupConsumer {
    return new GroupConsumer(this.kafka, options);
  }

  /** A group-less reader of return topics, not started (it fetches once a topic is added). */
  replyReader(options: ReplyReaderOptions): ReplyReader {
    return new ReplyReader(this.kafka, this.direct, options);
  }

  /** Resolves when a bootstrap broker accepts a connection; else one clear TransportError within the connection timeout (see checkReachable). */
  reach(): Promise<void> {
    return checkReachable(this.connection);
  }

  /** Disconnect the producers, then the admin (each even if the other failed); rethrow the first failure. */
  async close(): Promise<void> {
    const results = await Promise.allSettled([this.producers.close()]);
    // The admin first: a deletion still queued uses the direct link.
    const admin = await Promise.allSettled([this.admin.close()]);
    admin.push(...(await Promise.allSettled([this.direct.close()])));
    const failed = [...results, ...admin].find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}
