/**
 * GroupConsumer's lifecycle on the broker: a stop() while start() is still
 * under way ends the start, and leaves no member in the group (kafkajs would
 * otherwise go on to join with a consumer nobody owns any more); a crash
 * kafkajs will not restart is revived.
 */
import { createKafka, resolveConnection } from '../../src/kafka/client';
import { GroupConsumer } from '../../src/kafka/consumer';
import { topicAdmin } from '../../src/kafka/topics';
import { connection, createTopics, testName } from '../helpers/broker';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

const kafka = createKafka(resolveConnection(connection));

async function members(groupId: string): Promise<number> {
  const admin = topicAdmin(connection);
  try {
    return (await admin.groupsWithMembers([groupId])).size;
  } finally {
    await admin.close();
  }
}

test('stop() during start(): the start rejects, saying so, and the group has no member', async () => {
  const [topic] = await createTopics(testName('consumer'));
  for (const stage of ['at once', 'after the connect'] as const) {
    const groupId = testName('stopped-starting');
    const consumer = new GroupConsumer(kafka, { groupId, topic: topic!, fromBeginning: true, autoCommit: false, joinTimeoutMs: 60000, maxWaitTimeInMs: 100 });
    const starting = consumer.start(async () => undefined);
    if (stage === 'after the connect') await new Promise((r) => setImmediate(r));
    await consumer.stop();
    await expect(starting).rejects.toThrow(`consumer of "${topic}" was stopped while it started`);
    expect({ stage, members: await members(groupId) }).toEqual({ stage, members: 0 });
  }
});

test('a consumer stopped before its start never starts', async () => {
  const [topic] = await createTopics(testName('consumer'));
  const consumer = new GroupConsumer(kafka, { groupId: testName('never'), topic: topic!, fromBeginning: true, autoCommit: false, joinTimeoutMs: 60000 });
  await consumer.stop();
  await expect(consumer.start(async () => undefined)).rejects.toThrow(`consumer of "${topic}" was stopped before it started`);
});

// kafkajs restarts a crashed consumer only after an error it deems retriable.
// "Failed to find group coordinator" after a broker outage is not one
// (kafkajs #1630), nor is a TypeError (which it does not even retry): the
// consumer stops for good. Here a handler's TypeError makes the crash, which
// is deterministic.
test.each([
  ['without revive, the consumer stops for good (kafkajs)', false],
  ['with revive, a new consumer joins and reads the message again, and goes on', true],
])('a crash kafkajs will not restart: %s', async (_, revive) => {
  const [topic] = await createTopics(testName('consumer'));
  const groupId = testName('revive');
  const crashes: { message: string; restarting: boolean }[] = [];
  const revoked: { partitions: number[]; reason: string }[] = [];
  const seen: string[] = [];
  const consumer = new GroupConsumer(kafka, {
    groupId,
    topic: topic!,
    fromBeginning: true,
    autoCommit: true,
    joinTimeoutMs: 60000,
    maxWaitTimeInMs: 100,
    revive,
    onCrash: (e, restarting) => crashes.push({ message: e.message, restarting }),
    onRevoked: (partitions, reason) => revoked.push({ partitions, reason }),
  });
  try {
    await consumer.start(async (m) => {
      seen.push(m.value!.toString());
      if (seen.length === 1) throw new TypeError('the handler failed');
    });
    expect(consumer.assignment).toEqual([0]);
    await withRaw(({ producers }) => producers.send(topic!, [{ value: 'm0' }]));
    await waitFor(() => crashes.length > 0, 'the crash', 60000);
    if (!revive) {
      expect(crashes).toEqual([{ message: `consumer of "${topic}" crashed and stopped: KafkaJSNonRetriableError: the handler failed`, restarting: false }]);
      expect(seen).toEqual(['m0']);
      return;
    }
    expect(crashes[0]).toEqual({ message: `consumer of "${topic}" crashed and kafkajs will not restart it; starting a new one in 1000 ms: KafkaJSNonRetriableError: the handler failed`, restarting: true });
    expect(revoked).toEqual([{ partitions: [0], reason: 'lost' }]);
    await waitFor(() => seen.length === 2, 'the message read again by the new consumer', 60000);
    expect(seen).toEqual(['m0', 'm0']); // not committed by the crashed one: not lost
    expect(consumer.revivals).toBe(1);
    expect(consumer.assignment).toEqual([0]);
    await withRaw(({ producers }) => producers.send(topic!, [{ value: 'm1' }]));
    await waitFor(() => seen.length === 3, 'the next message', 60000);
    expect(seen[2]).toBe('m1');
    expect(crashes).toHaveLength(1);
  } finally {
    await consumer.stop();
  }
  expect(await members(groupId)).toBe(0);
}, 120000);

test('stop() as a revival begins: no new consumer starts, and the group has no member', async () => {
  const [topic] = await createTopics(testName('consumer'));
  const groupId = testName('revive-stop');
  const crashes: string[] = [];
  let stopped: Promise<void> | undefined;
  const consumer = new GroupConsumer(kafka, {
    groupId,
    topic: topic!,
    fromBeginning: true,
    autoCommit: true,
    joinTimeoutMs: 60000,
    maxWaitTimeInMs: 100,
    revive: true,
    onCrash: (e) => {
      crashes.push(e.message);
      stopped ??= consumer.stop(); // the revival is told first, then waits its 1 s
    },
  });
  await consumer.start(async () => {
    throw new TypeError('the handler failed');
  });
  await withRaw(({ producers }) => producers.send(topic!, [{ value: 'm0' }]));
  await waitFor(() => stopped !== undefined, 'the crash', 60000);
  await stopped;
  expect(crashes).toEqual([expect.stringContaining('starting a new one in 1000 ms')]);
  expect(consumer.revivals).toBe(0); // stop() waited for the revival to end: none can start later
  expect(consumer.assignment).toEqual([]);
  expect(await members(groupId)).toBe(0);
});
