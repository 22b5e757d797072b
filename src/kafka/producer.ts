import { Partitioners, type ICustomPartitioner, type Kafka, type Producer, type RecordMetadata } from 'kafkajs';
import type { OutboundHeaders } from '../protocol/bytes';
import { TransportError } from '../errors';
import { unconfirmed } from './delivery';
import { COALESCING, CoalescingSender } from './coalesce';
import { isUnknownTopic, sendFailure } from './send-errors';
import type { TopicDirectory } from './topic-directory';
import { DirectLink } from './direct';
import { ReplyWriter } from './reply-writer';

export interface OutboundMessage {
  /** Text (written as UTF-8), or bytes as they are (a reply keeps its request's key). */
  key?: string | Buffer | null;
  /** Bytes are sent as they are (a dead letter keeps the original value); null is a tombstone. */
  value: string | Buffer | null;
  /** Text, or bytes as they are (headers that travel, a foreign caller's binary correlation id, echoed). */
  headers?: OutboundHeaders;
  /** The partition to write to; by default the key's (or any, without a key). */
  partition?: number;
}

/** Times a message no answer confirmed is sent again before its send fails (after 100, 200, 400 ms). */
const UNCONFIRMED_RESENDS = 3;

/**
 * Producing for one owner. Stable topics (services' topics, main topics) go
 * through one long-lived producer whose connect is memoised. Replies to
 * return topics go through the ReplyWriter, in batches, without a kafkajs
 * producer (kafkajs #1622 breaks a producer that has sent to a
 * since-deleted topic, and return topics are all deleted sooner or later).
 */
export class Producers {
  private shared: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private readonly replies: ReplyWriter;
  private readonly ownLink: DirectLink | undefined;
  private readonly coalescer = new CoalescingSender((topic, messages) => this.sendNow(topic, messages), COALESCING);
  private closed = false;
  /**
   * The partition each message in flight was given, the first time kafkajs
   * asked: a retry of kafkajs's own, or one of ours, writes it to the same
   * partition, so that the produce's answer says whether it was written.
   */
  private readonly placed = new WeakMap<object, number>();
  /** Messages kafkajs reported sent that no partition's answer confirmed, sent again (see sendNow). */
  resent = 0;

  /** `topics`: when given, a send to a topic it does not list fails at once (UnknownTopicError) instead of being retried by kafkajs. */
  /** `direct`: the client's DirectLink, shared; without it these producers make their own (closed with them). */
  constructor(
    private readonly kafka: Kafka,
    private readonly topics?: TopicDirectory,
    direct?: DirectLink,
  ) {
    this.ownLink = direct ? undefined : new DirectLink(kafka);
    this.replies = new ReplyWriter(kafka, direct ?? this.ownLink!);
  }

  /**
   * kafkajs's default partitioner, made stable per message: a message keeps
   * the partition it was first given (its key's, or the round-robin pick for
   * one without a key) through every retry, so that the answers tell whether
   * it was written. A message without key or partition whose partition has
   * lost its leader is placed again (as kafkajs would: among partitions with
   * one); the check then follows its new partition.
   */
  private readonly stablePartitioner: ICustomPartitioner = () => {
    const pick = Partitioners.DefaultPartitioner();
    return (args) => {
      const known = this.placed.get(args.message);
      const free = args.message.key == null && args.message.partition == null;
      const leaderless = () => (args.partitionMetadata.find((p) => p.partitionId === known)?.leader ?? -1) < 0;
      if (known !== undefined && known < args.partitionMetadata.length && !(free && leaderless())) return known;
      const partition = pick(args);
      this.placed.set(args.message, partition);
      return partition;
    };
  };

  /**
   * Acks from all in-sync replicas (kafkajs's default, -1) on every send.
   * Not kafkajs's idempotent mode: it has no producer-epoch bump, so after a
   * leader change a partition can answer OUT_OF_ORDER_SEQUENCE_NUMBER to
   * every later write (kafkajs #598) — a producer stuck for good is worse
   * than the duplicate a retried write can make, which callers already
   * drop by correlation id.
   */
  private newProducer(): Producer {
    return this.kafka.producer({ createPartitioner: this.stablePartitioner, allowAutoTopicCreation: false });
  }

  /** Connect the shared producer (memoised; concurrent callers share one attempt). */
  connect(): Promise<Producer> {
    if (this.closed) return Promise.reject(new TransportError('producer is closed', undefined, false));
    if (this.shared) return Promise.resolve(this.shared);
    this.connecting ??= (async () => {
      const producer = this.newProducer();
      try {
        await producer.connect();
      } catch (e) {
        this.connecting = undefined;
        throw new TransportError('producer could not connect', e);
      }
      this.shared = producer;
      return producer;
    })();
    return this.connecting;
  }

  /** Send to a stable topic through the shared producer (coalesced: see CoalescingSender); one that does not exist is refused at once. */
  async send(topic: string, messages: OutboundMessage[]): Promise<void> {
    await this.checkTopic(topic);
    return this.coalescer.send(topic, messages);
  }

  /** Resolves when `topic` exists (cached); rejects with UnknownTopicError when it does not. */
  checkTopic(topic: string): Promise<void> {
    return this.topics ? this.topics.check(topic) : Promise.resolve();
  }

  /**
   * Send, then check the answer: kafkajs can report a send done while a
   * partition's messages were never written (a retry after a leader moved to
   * a broker that had answered the first try skips them). Messages whose
   * partition no answer confirmed are sent again, a few times, then the
   * send fails as retriable: never a silent wait for a caller's deadline.
   */
  private async sendNow(topic: string, messages: OutboundMessage[]): Promise<void> {
    const producer = await this.connect();
    let pending = messages;
    for (let attempt = 0; ; attempt++) {
      let answers: RecordMetadata[];
      try {
        answers = await producer.send({ topic, messages: pending });
      } catch (e) {
        if (isUnknownTopic(e)) this.topics?.forget(topic);
        throw sendFailure(this.kafka, topic, e, 'to write to it');
      }
      pending = unconfirmed(topic, pending, (m) => this.placed.get(m), answers);
      if (pending.length === 0) return;
      if (attempt === UNCONFIRMED_RESENDS)
        throw new TransportError(
          `${pending.length} of ${messages.length} messages to "${topic}" were not confirmed by their partition's leader after ${attempt + 1} sends`,
          undefined,
          true,
        );
      this.resent += pending.length;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }

  /** A reply to a return topic (they come and go): through the ReplyWriter. */
  sendReply(topic: string, message: OutboundMessage): Promise<void> {
    return this.replies.send(topic, [message]);
  }

  /** Wait for replies in flight, then disconnect every producer. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.replies.close();
    const producer = this.shared ?? (this.connecting ? await this.connecting.catch(() => undefined) : undefined);
    this.shared = undefined;
    this.connecting = undefined;
    if (producer) await producer.disconnect();
    await this.ownLink?.close();
  }
}
