/**
 * Header names kafka-fusion writes, in one place (docs/protocol.md lists
 * them). Values are UTF-8 strings.
 */

/** Header names starting with this are the library's own: never passed on from a request to its calls and reply. */
export const LIBRARY_HEADER_PREFIX = 'kafka-fusion.';

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
