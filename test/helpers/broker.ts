import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { brokersFromEnv, type ConnectionOptions } from '../../src/kafka/client';
import { listTopicsByPrefix, topicAdmin } from '../../src/kafka/topic-tools';
import { EPHEMERAL_TOPIC_PREFIX } from '../../src/naming';

export const brokers = brokersFromEnv();
export const connection = { brokers, logLevel: 'nothing' as const };

/** Test topics and groups: unique per call, recognisable on the broker. */
export function testName(what: string): string {
  return `kf-test-${what}-${randomUUID().slice(0, 8)}`;
}

/** Create fresh topics (leaders awaited) and return their names. */
export function createTopics(...names: string[]): Promise<string[]> {
  return createTopicsOn(connection, names);
}

/** The same on another cluster (a test's own broker). */
export async function createTopicsOn(on: ConnectionOptions, names: string[]): Promise<string[]> {
  const admin = topicAdmin(on);
  try {
    await admin.create(names.map((topic) => ({ topic })));
    return names;
  } finally {
    await admin.close();
  }
}

export async function deleteTopics(names: string[]): Promise<void> {
  const admin = topicAdmin(connection);
  try {
    await admin.deleteNow(names);
  } finally {
    await admin.close();
  }
}

/** Ephemeral return topics that are on the broker now. */
export function ephemeralTopicsOnBroker(): Promise<string[]> {
  return listTopicsByPrefix(EPHEMERAL_TOPIC_PREFIX, connection);
}

/** How many messages were ever written to a topic (sum of its partitions' high watermarks). */
export async function messagesWritten(topic: string, on: ConnectionOptions = connection): Promise<number> {
  const admin = topicAdmin(on);
  try {
    return (await admin.offsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.close();
  }
}

/** The partitions of a topic. */
export async function partitionsOf(topic: string): Promise<number[]> {
  const admin = topicAdmin(connection);
  try {
    return (await admin.offsets(topic)).map((p) => p.partition);
  } finally {
    await admin.close();
  }
}

/**
 * scripts/broker.ts with `env` added (a test's own broker: its KAFKA_PORT,
 * listeners, state), never on the cluster of KAFKA_BROKERS; resolves to
 * its output, rejects with it.
 */
export function brokerScript(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const root = path.join(__dirname, '..', '..');
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete full.KAFKA_BROKERS;
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'scripts', 'broker.ts'), ...args],
      { cwd: root, env: full, timeout: 240000 },
      (error, stdout, stderr) => (error ? reject(new Error(`broker ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`)) : resolve(stdout)),
    ),
  );
}
