/**
 * GroupConsumer's lifecycle on the broker: a stop() while start() is still
 * under way ends the start, and leaves no member in the group (kafkajs would
 * otherwise go on to join with a consumer nobody owns any more).
 */
import { createKafka, resolveConnection } from '../../src/kafka/client';
import { GroupConsumer } from '../../src/kafka/consumer';
import { topicAdmin } from '../../src/kafka/topics';
import { connection, createTopics, testName } from '../helpers/broker';

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
