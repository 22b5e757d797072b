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

/**
 * A rule of a return-topic allow-list: a string allows the topics that start
 * with it, a RegExp the topics it matches.
 */
export type TopicRule = string | RegExp;

/** Copy rules so that a RegExp's `g`/`y` state can never make a test flip. */
export function compileTopicRules(rules: readonly TopicRule[]): readonly TopicRule[] {
  return rules.map((r) => (typeof r === 'string' ? r : new RegExp(r.source, r.flags.replace(/[gy]/g, ''))));
}

/** A valid topic name allowed by at least one rule. */
export function isAllowedTopic(topic: unknown, rules: readonly TopicRule[]): topic is string {
  return isValidTopicName(topic) && rules.some((r) => (typeof r === 'string' ? topic.startsWith(r) : r.test(topic)));
}

/** The dead-letter topic of a main topic, unless configured otherwise. */
export function defaultDeadLetterTopic(mainTopic: string): string {
  return `${mainTopic}.dlq`;
}
