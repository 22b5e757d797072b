/**
 * Header names kafka-fusion writes, in one place (docs/protocol.md lists
 * them). The library's own values are UTF-8 text; a user's header values are
 * any bytes, and travel as they came.
 */
import { writableHeaders, type MessageHeaders, type OutboundHeaders } from './bytes';

/** Header names starting with this are the library's own: never passed on from a request to its calls and reply. */
export const LIBRARY_HEADER_PREFIX = 'kafka-fusion.';

/**
 * Spring's header names (`KafkaHeaders`), which NestJS mirrors: the request
 * and reply headers of their request/reply, so that a `@MessagePattern` or a
 * `@KafkaListener` + `@SendTo` service can answer a kafka-fusion call.
 */
export const INTEROP_HEADERS = {
  /** The call's correlation id; a reply echoes it. */
  correlationId: 'kafka_correlationId',
  /** Where the reply goes. */
  replyTopic: 'kafka_replyTopic',
  /**
   * Not written by kafka-fusion (its return topics have one partition):
   * NestJS reads it as a decimal string, Spring as a 4-byte big-endian int,
   * so no one value suits both.
   */
  replyPartition: 'kafka_replyPartition',
  /** NestJS: the reply is an error (its JSON or text). */
  nestError: 'kafka_nest-err',
  /** NestJS: the handler's stream is complete (may come alone, with no value). */
  nestDisposed: 'kafka_nest-is-disposed',
} as const;

/** Prefix of Spring's (and NestJS's) protocol headers: they describe one hop and never travel on. */
export const INTEROP_HEADER_PREFIX = 'kafka_';

/** Headers of the `headers` wire format, where the value is the bare payload (docs/protocol.md). */
export const WIRE_HEADERS = {
  /** The codec of the value (`application/json`, `application/msgpack`...). Its presence marks the format. */
  contentType: 'kafka-fusion.content-type',
  /** The caller's deadline, epoch milliseconds, as a decimal string. */
  deadline: 'kafka-fusion.deadline',
  /** An error reply: `{"name": ..., "message": ...}` as JSON (the value is then empty). */
  error: 'kafka-fusion.error',
} as const;

/**
 * Whether a request's header is passed on to its dependency calls and its
 * reply: user headers are (tenant, correlation ids, trace context); the
 * library's own, Spring/NestJS protocol headers (`kafka_*`) and Spring's
 * type hints (`__TypeId__`...) describe the hop they came on and are not.
 */
export function isTravellingHeader(name: string): boolean {
  return !name.startsWith(LIBRARY_HEADER_PREFIX) && !name.startsWith(INTEROP_HEADER_PREFIX) && !(name.startsWith('__') && name.endsWith('__'));
}

/**
 * Whether a header belongs to the protocol (the library's own `kafka-fusion.*`,
 * Spring's and NestJS's `kafka_*`): a caller never sets these by hand; the
 * library writes the ones a message needs.
 */
export function isProtocolHeader(name: string): boolean {
  return name.startsWith(LIBRARY_HEADER_PREFIX) || name.startsWith(INTEROP_HEADER_PREFIX);
}

/** The headers of a request that travel on (see isTravellingHeader), their values as they came. */
export function travellingHeaders(headers: MessageHeaders): OutboundHeaders {
  return writableHeaders(headers, isTravellingHeader);
}

/** Headers of a dead-lettered message: why it was refused and where it came from. */
export const DEAD_LETTER_HEADERS = {
  /** What was wrong, in words. */
  reason: 'kafka-fusion.dlq.reason',
  /** The error's class name: ProtocolError, DagCycleError, TypeError... */
  error: 'kafka-fusion.dlq.error',
  /** The error's stable code when it is a kafka-fusion error (KF_PROTOCOL...), else KF_USER. */
  code: 'kafka-fusion.dlq.code',
  /** Topic, partition, offset and timestamp of the original message. */
  topic: 'kafka-fusion.dlq.topic',
  partition: 'kafka-fusion.dlq.partition',
  offset: 'kafka-fusion.dlq.offset',
  timestamp: 'kafka-fusion.dlq.timestamp',
  /** The consumer group of the Reactor that refused it. */
  group: 'kafka-fusion.dlq.group',
} as const;
