import { v7 as uuidv7 } from 'uuid';

/** Every topic the library creates starts with this. */
export const LIBRARY_TOPIC_PREFIX = 'kafka-fusion.';
/** Prefix of ephemeral return topics: one topic per call, deleted after the reply. */
export const EPHEMERAL_TOPIC_PREFIX = `${LIBRARY_TOPIC_PREFIX}reply.`;

const VALID_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** A fresh ephemeral return topic name; uuid v7 makes names sort by creation time. */
export function newEphemeralTopic(prefix: string = EPHEMERAL_TOPIC_PREFIX): string {
  return `${prefix}${uuidv7()}`;
}

export function isEphemeralTopic(topic: string, prefix: string = EPHEMERAL_TOPIC_PREFIX): boolean {
  return topic.startsWith(prefix);
}

/** Kafka's own rule for topic names. */
export function isValidTopicName(topic: unknown): topic is string {
  return typeof topic === 'string' && VALID_TOPIC.test(topic) && topic !== '.' && topic !== '..';
}

export function newCorrelationId(): string {
  return uuidv7();
}
