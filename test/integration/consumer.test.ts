/**
 * GroupConsumer's lifecycle on the broker: a stop() while start() is still
 * under way ends the start, and leaves no member in the group (kafkajs would
 * otherwise go on to join with a consumer nobody owns any more); a crash
 * kafkajs will not restart is revived.
 */
import { createKafka, resolveConnection } from '../../src/kafka/client';
import { GroupConsumer } from '../../src/kafka/consumer';
import { topicAdmin } from '../../src/kafka/topic-tools';
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
])(
  'a crash kafkajs will not restart: %s',
  async (_, revive) => {
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
      onRevoked: (partitions, reason) => {
        revoked.push({ partitions, reason });
        if (reason === 'lost') throw new Error('a user hook that fails'); // does not end the revival
      },
    });
    try {
      await consumer.start(async (m) => {
        seen.push(m.value!.toString());
        if (seen.length === 1) throw new TypeError('the handler failed');
      });
      expect(consumer.assignment).toEqual([0]);
      await withRaw(({ producers }) => producers.send(topic!, [{ value: 'm0' }]));
      await waitFor(() => crashes.length > 0, 'the crash', 60000);
      if (revive) {
        expect(crashes[0]).toEqual({
          message: `consumer of "${topic}" crashed and kafkajs will not restart it; starting a new one in 1000 ms: KafkaJSNonRetriableError: the handler failed`,
          restarting: true,
        });
        expect(revoked).toEqual([{ partitions: [0], reason: 'lost' }]);
        await waitFor(() => seen.length === 2, 'the message read again by the new consumer', 60000);
        expect(seen).toEqual(['m0', 'm0']); // not committed by the crashed one: not lost
        expect(consumer.revivals).toBe(1);
        expect(consumer.assignment).toEqual([0]);
        await withRaw(({ producers }) => producers.send(topic!, [{ value: 'm1' }]));
        await waitFor(() => seen.length === 3, 'the next message', 60000);
        expect(seen[2]).toBe('m1');
        expect(crashes.filter((c) => c.message.includes('will not restart'))).toHaveLength(1);
      } else {
        expect(crashes).toEqual([{ message: `consumer of "${topic}" crashed and stopped: KafkaJSNonRetriableError: the handler failed`, restarting: false }]);
        expect(seen).toEqual(['m0']);
        expect(consumer.revivals).toBe(0);
      }
    } finally {
      await consumer.stop();
    }
    expect(await members(groupId)).toBe(0);
  },
  120000,
);

describe('stop() during a revival: no new consumer is left, and the group has no member', () => {
  afterEach(() => jest.restoreAllMocks());

  /** A consumer whose handler always fails, so that every message crashes it (kafkajs will not restart it). */
  function failing(groupId: string, topic: string, onCrash: (message: string) => void): GroupConsumer {
    return new GroupConsumer(kafka, {
      groupId,
      topic,
      fromBeginning: true,
      autoCommit: true,
      joinTimeoutMs: 60000,
      maxWaitTimeInMs: 100,
      revive: true,
      onCrash: (e) => onCrash(e.message),
    });
  }

  test('as it begins (from onCrash, before its pause)', async () => {
    const [topic] = await createTopics(testName('consumer'));
    const groupId = testName('revive-stop');
    const created = jest.spyOn(kafka, 'consumer');
    const crashes: string[] = [];
    let stopped: Promise<void> | undefined;
    const consumer = failing(groupId, topic!, (message) => {
      crashes.push(message);
      stopped ??= consumer.stop();
    });
    await consumer.start(async () => {
      throw new TypeError('the handler failed');
    });
    await withRaw(({ producers }) => producers.send(topic!, [{ value: 'm0' }]));
    await waitFor(() => stopped !== undefined, 'the crash', 60000);
    await stopped;
    expect(crashes).toEqual([expect.stringContaining('starting a new one in 1000 ms')]);
    expect(created).toHaveBeenCalledTimes(1); // no new kafkajs consumer
    expect(consumer.revivals).toBe(0);
    expect(consumer.assignment).toEqual([]);
    expect(await members(groupId)).toBe(0);
  });

  test('while the new consumer starts (its connect under way)', async () => {
    const [topic] = await createTopics(testName('consumer'));
    const groupId = testName('revive-stop');
    let stopped: Promise<void> | undefined;
    const consumer = failing(groupId, topic!, () => undefined);
    const create = kafka.consumer.bind(kafka);
    const created = jest.spyOn(kafka, 'consumer').mockImplementation((config) => {
      const c = create(config);
      if (created.mock.calls.length === 2) setImmediate(() => (stopped = consumer.stop()));
      return c;
    });
    await consumer.start(async () => {
      throw new TypeError('the handler failed');
    });
    await withRaw(({ producers }) => producers.send(topic!, [{ value: 'm0' }]));
    await waitFor(() => stopped !== undefined, 'the revival to create its consumer', 60000);
    await stopped;
    expect(created).toHaveBeenCalledTimes(2);
    expect(consumer.revivals).toBe(0); // its start was ended
    expect(consumer.assignment).toEqual([]);
    expect(await members(groupId)).toBe(0);
  });
});
