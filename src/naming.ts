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

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * When an ephemeral topic was named (its uuid v7's milliseconds), or
 * undefined for a name that is not `<prefix><uuid v7>`: the sweeper leaves
 * such topics alone.
 */
export function ephemeralTopicTime(topic: string, prefix: string = EPHEMERAL_TOPIC_PREFIX): number | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  const id = topic.slice(prefix.length);
  if (!UUID_V7.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
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
