/**
 * One-off admin jobs on a client of their own: ensureTopics,
 * deleteTopicsByPrefix, the broker readiness probe, and the admins they
 * use. The long-lived TopicAdmin of a Reactor or a Pipeline is in topics.ts.
 */
import type { Admin, Kafka } from 'kafkajs';
import { ConfigError, TransportError } from '../errors';
import { checkReplicationFactor } from '../validate';
import { isValidTopicName, LIBRARY_TOPIC_PREFIX } from '../naming';
import { createKafka, resolveConnection, type ConnectionOptions } from './client';
import { GroupConsumer } from './consumer';
import { checkReachable } from './reach';
import { TopicAdmin, type TopicSpec } from './topics';

/**
 * An admin for a one-off job, once a bootstrap broker answers: a wrong
 * address is one clear error (checkReachable) instead of kafkajs's retries.
 * The connection is resolved once, for both.
 */
export async function reachableAdmin(connection: ConnectionOptions = {}): Promise<TopicAdmin> {
  const resolved = resolveConnection({ logLevel: 'nothing', ...connection });
  await checkReachable(resolved);
  return new TopicAdmin(createKafka(resolved));
}

/** A TopicAdmin with its own client, for scripts and tests. */
export function topicAdmin(connection: ConnectionOptions = {}): TopicAdmin {
  return new TopicAdmin(createKafka(resolveConnection({ logLevel: 'nothing', ...connection })));
}

/** What ensureTopics is given, checked before any I/O: a ConfigError names the first wrong spec. */
function checkSpecs(specs: unknown): asserts specs is TopicSpec[] {
  if (!Array.isArray(specs)) throw new ConfigError('specs', `must be an array of { topic, partitions? }, got ${typeof specs}`);
  specs.forEach((s: unknown, i) => {
    const topic = typeof s === 'object' && s !== null ? (s as TopicSpec).topic : undefined;
    if (typeof s === 'string')
      throw new ConfigError(`specs[${i}]`, `must be an object such as { topic: ${JSON.stringify(s)} }, got the string ${JSON.stringify(s)}`);
    if (typeof topic !== 'string' || !isValidTopicName(topic))
      throw new ConfigError(`specs[${i}].topic`, `must be a valid Kafka topic name ([a-zA-Z0-9._-], 1 to 249 characters), got ${JSON.stringify(topic)}`);
    const partitions = (s as TopicSpec).partitions;
    if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1))
      throw new ConfigError(`specs[${i}].partitions`, `must be a whole number >= 1, got ${JSON.stringify(partitions)}`);
    const { replicationFactor, configs } = s as TopicSpec;
    if (replicationFactor !== undefined) checkReplicationFactor(`specs[${i}].replicationFactor`, replicationFactor);
    if (configs !== undefined) {
      if (typeof configs !== 'object' || configs === null || Array.isArray(configs))
        throw new ConfigError(`specs[${i}].configs`, `must be an object of config names to string values, such as { 'retention.ms': '86400000' }`);
      for (const [name, value] of Object.entries(configs))
        if (typeof value !== 'string')
          throw new ConfigError(`specs[${i}].configs.${name}`, `must be a string (Kafka takes every config as text), got ${JSON.stringify(value)}`);
    }
  });
}

/** Create topics that may already exist (idempotent); waits for leaders. */
export async function ensureTopics(specs: TopicSpec[], connection: ConnectionOptions = {}): Promise<void> {
  checkSpecs(specs);
  const admin = await reachableAdmin(connection);
  try {
    await admin.create(specs);
  } finally {
    await admin.close();
  }
}

/** Names of the topics starting with `prefix` (library-created ones by default), sorted: what a script or a test checks is left. */
export async function listTopicsByPrefix(prefix: string = LIBRARY_TOPIC_PREFIX, connection: ConnectionOptions = {}): Promise<string[]> {
  const admin = topicAdmin(connection);
  try {
    return await admin.list(prefix);
  } finally {
    await admin.close();
  }
}

/** Delete library-created topics (`kafka-fusion.` prefix by default) and return their names. */
export async function deleteTopicsByPrefix(prefix: string = LIBRARY_TOPIC_PREFIX, connection: ConnectionOptions = {}): Promise<string[]> {
  const admin = await reachableAdmin(connection);
  try {
    const topics = await admin.list(prefix);
    await admin.deleteNow(topics);
    return topics;
  } finally {
    await admin.close();
  }
}

/**
 * Resolves when the cluster answers an admin round trip: describe the
 * cluster, then create, list and delete a probe topic. Rejects with what
 * failed last when `timeoutMs` runs out.
 */
export interface ProbeOptions {
  /**
   * Also join a consumer group on the probe topic: a fresh cluster answers
   * COORDINATOR_LOAD_IN_PROGRESS until it has created and loaded
   * __consumer_offsets, so "ready" must include "groups work".
   * @defaultValue true
   */
  groups?: boolean;
}

/**
 * Wait until the cluster answers: create, list and delete a probe topic and
 * (by default) join a consumer group on it. Retries until `timeoutMs`.
 */
export async function probeBroker(
  connection: ConnectionOptions = {},
  timeoutMs = 60000,
  options: ProbeOptions = {},
): Promise<{ brokers: number; elapsedMs: number }> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const left: string[] = [];
  try {
    return await probeUntil(connection, deadline, options, left, started);
  } finally {
    if (left.length > 0) await deleteLeftProbes(connection, left);
  }
}

async function probeUntil(
  connection: ConnectionOptions,
  deadline: number,
  options: ProbeOptions,
  left: string[],
  started: number,
): Promise<{ brokers: number; elapsedMs: number }> {
  let last: unknown;
  while (Date.now() < deadline) {
    const kafka = createKafka(resolveConnection({ logLevel: 'nothing', connectionTimeoutMs: 1000, requestTimeoutMs: 5000, ...connection }));
    const admin = kafka.admin({ retry: { retries: 0 } });
    const probe = `${LIBRARY_TOPIC_PREFIX}probe.${process.pid}.${Date.now()}`;
    let asked = false;
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      // From here on the probe topic may exist, even if this create fails (a timeout waiting for its leader).
      asked = true;
      await admin.createTopics({ topics: [{ topic: probe, numPartitions: 1 }], waitForLeaders: true, timeout: 5000 });
      const listed = await admin.listTopics();
      if (!listed.includes(probe)) throw new Error(`probe topic ${probe} was created but not listed`);
      if (options.groups ?? true) await probeGroup(kafka, admin, probe, Math.max(1000, deadline - Date.now()));
      return { brokers: cluster.brokers.length, elapsedMs: Date.now() - started };
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      if (asked && !(await deleteProbes(kafka, [probe]))) left.push(probe);
      await admin.disconnect().catch(() => undefined);
    }
  }
  throw new TransportError(
    `Kafka at ${(connection.brokers ?? resolveConnection(connection).brokers).join(',')} did not answer within ${deadline - started} ms`,
    last,
  );
}

/**
 * Delete probe topics through the controller (`TopicAdmin.deleteNow`: a
 * broker's topic list may not show one yet on a cluster; a topic never made
 * counts as deleted; transient failures asked again), within `budgetMs`:
 * a probe must not be left behind. False when some could not be deleted.
 */
async function deleteProbes(kafka: Kafka, probes: string[], budgetMs = PROBE_DELETE_BUDGET_MS): Promise<boolean> {
  const admin = new TopicAdmin(kafka);
  try {
    await admin.deleteNow(probes, budgetMs);
    return true;
  } catch {
    return false;
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/**
 * Delete the probe topics `probeBroker` could not delete at once, through a
 * client of every broker it was given, for a few seconds more.
 */
async function deleteLeftProbes(connection: ConnectionOptions, probes: string[]): Promise<void> {
  const kafka = createKafka(resolveConnection({ logLevel: 'nothing', connectionTimeoutMs: 1000, requestTimeoutMs: 5000, ...connection }));
  await deleteProbes(kafka, probes);
}

/** How long one probe's deletion is tried (and all the leftovers' together, after the probe's deadline). */
const PROBE_DELETE_BUDGET_MS = 5000;

async function probeGroup(kafka: Kafka, admin: Admin, topic: string, joinTimeoutMs: number): Promise<void> {
  const consumer = new GroupConsumer(kafka, { groupId: topic, topic, fromBeginning: true, autoCommit: false, joinTimeoutMs, maxWaitTimeInMs: 100 });
  try {
    await consumer.start(async () => undefined);
  } finally {
    await consumer.stop().catch(() => undefined);
  }
  await admin.deleteGroups([topic]).catch(() => undefined);
}
