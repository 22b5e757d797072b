/**
 * The Reactor's responder: writes replies (in the encoding the request came
 * in, on the caller's route), tells a caller at once that its request could
 * not be read, and dead-letters what cannot be answered. It writes through
 * a ReplyChannel, so its decisions are unit-tested without a broker.
 */
import { AuthorizationError, isFusionError, ProtocolError, toWireError, TransportError, type FusionError } from '../errors';
import type { InboundMessage } from '../kafka/consumer';
import type { OutboundMessage } from '../kafka/producer';
import { isAllowedTopic, type TopicRule } from '../naming';
import { headerValue, strictHeaderText, toBytes, writableHeaders, type OutboundHeaders } from '../protocol/bytes';
import { DEAD_LETTER_HEADERS, INTEROP_HEADERS, travellingHeaders as travelling } from '../protocol/headers';
import {
  BARE_JSON,
  correlationIdText,
  encodeReplyMessage,
  replyPartitionOf,
  type InboundRequest,
  type OutboundParts,
  type ReplyContent,
} from '../protocol/wire';
import type { MessageRef } from './events';
import type { ReactorMessage } from './types';

/** How long a reply topic's partition count is trusted, and how many are kept (see checkedPartition). */
const PARTITION_COUNT_TTL_MS = 60000;
const PARTITION_COUNTS_KEPT = 1000;

/** Where the responder writes: the Reactor's transport, or a stand-in in tests. */
export interface ReplyChannel {
  /** A reply to a return topic (through a producer of the topic's own). */
  sendReply(topic: string, message: OutboundMessage): Promise<void>;
  /** Messages to a stable topic (the dead-letter topic). */
  send(topic: string, messages: OutboundMessage[]): Promise<void>;
  /** How many partitions a topic has (0 if the broker does not know it). */
  partitionCount(topic: string): Promise<number>;
}

export interface ResponderOptions {
  mainTopic: string;
  deadLetterTopic: string;
  groupId: string;
  returnTopicAllowList: readonly TopicRule[];
  onError: (error: unknown) => void;
  onDeadLettered: (ref: MessageRef, reason: string) => void;
}

/** What became of a reply. */
export type ReplyStatus = { status: 'none' | 'sent' | 'gone' | 'expired' } | { status: 'dead_lettered'; error: FusionError };

/** A reply on its caller's route: a foreign caller's correlation id as it came (Spring's is binary), on the partition it listens to. */
function routedReply(key: Buffer | null, parts: OutboundParts, idBytes: Buffer | undefined, partition: number | undefined): OutboundMessage {
  return {
    key,
    value: parts.value,
    headers: idBytes === undefined ? parts.headers : { ...parts.headers, [INTEROP_HEADERS.correlationId]: idBytes },
    ...(partition !== undefined && { partition }),
  };
}

/** A write the broker refused as it is (too large, invalid...): sending it again cannot help. */
function refusedForGood(e: unknown): boolean {
  return e instanceof TransportError && (e.reason === 'too-large' || e.reason === 'refused');
}

export class Responder {
  /** Messages written to the dead-letter topic so far. */
  deadLettered = 0;
  /** Replies not written because their return topic was gone (the caller had given up, or had its answer). */
  repliesToGoneTopics = 0;
  /** Results not written because their caller's deadline had passed (nobody was waiting). */
  expired = 0;
  private readonly partitionCounts = new Map<string, { count: number; at: number }>();

  constructor(
    private readonly channel: ReplyChannel,
    private readonly options: ResponderOptions,
  ) {}

  /** A request without a correlation id is answered with its position, so the reply is still well formed. */
  private correlationOf(message: ReactorMessage<unknown>): string {
    return message.correlationId ?? `${message.topic}-${message.partition}-${message.offset}`;
  }

  /**
   * The partition a foreign caller named for its reply, checked against its
   * reply topic: kafkajs drops a message to a partition it does not know
   * without an error, so the caller would wait for nothing. Counts are
   * cached a minute (reply topics of NestJS and Spring callers are stable).
   */
  private async checkedPartition(topic: string, partition: number | undefined): Promise<number | undefined> {
    if (partition === undefined) return undefined;
    let known = this.partitionCounts.get(topic);
    if (known === undefined || Date.now() - known.at >= PARTITION_COUNT_TTL_MS) {
      known = { count: await this.channel.partitionCount(topic), at: Date.now() };
      if (this.partitionCounts.size >= PARTITION_COUNTS_KEPT) this.partitionCounts.clear();
      this.partitionCounts.set(topic, known);
    }
    if (partition >= known.count)
      throw new ProtocolError(
        `${INTEROP_HEADERS.replyPartition} ${partition} is not a partition of "${topic}" (it has ${known.count}); nothing was written to it`,
      );
    return partition;
  }

  /** Only allow-listed topics, and never this Reactor's own main or dead-letter topic. */
  mayReplyTo(topic: string): boolean {
    const o = this.options;
    return topic !== o.mainTopic && topic !== o.deadLetterTopic && isAllowedTopic(topic, o.returnTopicAllowList);
  }

  /**
   * Write a reply, in the encoding its request came in. Its offset is
   * committed after this returns, so a reply that failed for a reason that
   * may pass (broker away, shutting down) throws: the message is read again.
   * One the broker refuses for good (a result too large for the topic...) is
   * dead-lettered, and the caller is sent an error saying so instead of
   * waiting for its deadline; so is a result the codec cannot encode.
   */
  async reply(
    raw: InboundMessage,
    message: ReactorMessage<unknown>,
    request: InboundRequest,
    outcome: { result: unknown } | { error: unknown },
  ): Promise<ReplyStatus> {
    const topic = message.returnTopic;
    if (topic === undefined) return { status: 'none' };
    // Nobody is waiting any more; its return topic is being deleted.
    if (message.deadline !== undefined && Date.now() >= message.deadline) {
      this.expired++;
      return { status: 'expired' };
    }
    const id = this.correlationOf(message);
    const headers = travelling(raw.headers);
    let replyPartition: number | undefined;
    try {
      replyPartition = await this.checkedPartition(topic, request.replyPartition);
    } catch (e) {
      if (!(e instanceof ProtocolError || e instanceof AuthorizationError)) {
        this.options.onError(e);
        throw e; // the topic's metadata could not be read: the message is read again
      }
      await this.deadLetter(raw, e);
      return { status: 'dead_lettered', error: e };
    }
    const write = async (o: ReplyContent) => {
      const parts = await encodeReplyMessage(id, o, request.encoding, headers);
      await this.channel.sendReply(topic, routedReply(message.key, parts, request.correlationIdBytes, replyPartition));
    };
    let failure: FusionError;
    try {
      await write('result' in outcome ? { result: outcome.result } : { error: toWireError(outcome.error) });
      return { status: 'sent' };
    } catch (e) {
      // The caller deleted its return topic: it has given up (timed out), or
      // this is a message redone after a failover that it already had an
      // answer for. Nobody is waiting; count it.
      if (e instanceof TransportError && e.reason === 'unknown-topic') {
        this.repliesToGoneTopics++;
        return { status: 'gone' };
      }
      failure =
        e instanceof ProtocolError || e instanceof AuthorizationError
          ? e
          : // Only what the broker refused for good is dead-lettered; anything else may pass: the message is read again.
            new TransportError(`${raw.topic}[${raw.partition}]@${raw.offset}: could not reply to "${topic}"`, e, !refusedForGood(e));
      if (failure.retriable) {
        this.options.onError(failure);
        throw failure;
      }
      // Refused for good. A result too large to write, or one the codec
      // cannot encode, can still be told as a (small) error, so that the
      // caller need not wait for its deadline.
      if ('result' in outcome && (e instanceof ProtocolError || (e instanceof TransportError && e.reason === 'too-large'))) {
        await write({ error: toWireError(failure) }).catch((e2: unknown) =>
          this.options.onError(new TransportError(`could not tell "${topic}" that its reply was refused`, e2)),
        );
      }
    }
    await this.deadLetter(raw, failure);
    return { status: 'dead_lettered', error: failure };
  }

  /**
   * A request that cannot be read is dead-lettered; when its headers still
   * say where its caller waits (`kafka_replyTopic` and `kafka_correlationId`,
   * which kafka-fusion callers write in both formats), the caller is told why
   * at once instead of at its deadline. Best effort: a failure to tell is
   * reported to onError, and the dead letter is written regardless.
   */
  async tellUnreadable(raw: InboundMessage, error: unknown): Promise<void> {
    let topic: string | undefined;
    try {
      topic = strictHeaderText(raw.headers, INTEROP_HEADERS.replyTopic, 'request');
    } catch {
      return; // a reply topic that is not text names no topic
    }
    const id = headerValue(raw.headers, INTEROP_HEADERS.correlationId);
    if (!topic || id === undefined || id.length === 0 || !this.mayReplyTo(topic)) return;
    // The caller's id as it came (Spring's is binary): named in text or hex, echoed byte for byte.
    const idBytes = toBytes(id);
    try {
      // Bare JSON with the error in headers: what any caller reads (a kafka-fusion one in either format, a NestJS one).
      const parts = await encodeReplyMessage(correlationIdText(idBytes), { error: toWireError(error) }, BARE_JSON, travelling(raw.headers));
      // On its partition when that is one.
      let partition: number | undefined;
      try {
        partition = await this.checkedPartition(topic, replyPartitionOf(headerValue(raw.headers, INTEROP_HEADERS.replyPartition)));
      } catch {
        partition = undefined;
      }
      await this.channel.sendReply(topic, routedReply(raw.key, parts, idBytes, partition));
    } catch (e) {
      if (!(e instanceof TransportError && e.reason === 'unknown-topic'))
        this.options.onError(new TransportError(`could not tell "${topic}" that its request could not be read`, e));
    }
  }

  /** Write the original message, as it came (key, value and headers byte for byte), to the dead-letter topic with why and whence in headers. */
  async deadLetter(raw: InboundMessage, error: unknown): Promise<void> {
    const o = this.options;
    const h = DEAD_LETTER_HEADERS;
    const reason = error instanceof Error ? error.message : String(error);
    const headers: OutboundHeaders = {
      ...writableHeaders(raw.headers),
      [h.reason]: reason,
      [h.error]: error instanceof Error ? error.name : typeof error,
      [h.code]: isFusionError(error) ? error.code : 'KF_USER',
      [h.topic]: raw.topic,
      [h.partition]: String(raw.partition),
      [h.offset]: raw.offset,
      [h.timestamp]: raw.timestamp,
      [h.group]: o.groupId,
    };
    try {
      await this.channel.send(o.deadLetterTopic, [{ key: raw.key, value: raw.value, headers }]);
      this.deadLettered++;
      this.options.onDeadLettered({ topic: raw.topic, partition: raw.partition, offset: raw.offset }, reason);
    } catch (e) {
      // Not even a refusal drops it: the partition waits on it, and each try
      // says why, until an operator grants Write on the dead-letter topic.
      const failure = new TransportError(
        `${raw.topic}[${raw.partition}]@${raw.offset} could not be dead-lettered to "${o.deadLetterTopic}"; it will be read again`,
        e,
      );
      o.onError(failure);
      throw failure;
    }
  }
}
