/** TopicAdmin with a stand-in kafkajs admin: what it retries, and what it does not. */
import type { Kafka } from 'kafkajs';
import { TransportError } from '../../src/errors';
import { TopicAdmin } from '../../src/kafka/topics';

function adminFailing(failures: unknown[]): { kafka: Kafka; calls: () => number } {
  let calls = 0;
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchTopicOffsets: async () => {
      const failure = failures[calls++];
      if (failure !== undefined) throw failure;
      return [{ partition: 0, offset: '7', high: '7', low: '0' }];
    },
  };
  return { kafka: { admin: () => admin } as unknown as Kafka, calls: () => calls };
}

const notLeader = Object.assign(new Error('This server is not the leader for that topic-partition'), { retriable: true, type: 'NOT_LEADER_FOR_PARTITION' });

test("offsets: a topic's leader settling (a retriable error) is waited out", async () => {
  const { kafka, calls } = adminFailing([notLeader, notLeader]);
  await expect(new TopicAdmin(kafka).offsets('t')).resolves.toEqual([{ partition: 0, low: '0', high: '7' }]);
  expect(calls()).toBe(3);
});

test('offsets: an error that will not pass is a TransportError at once', async () => {
  const { kafka, calls } = adminFailing([Object.assign(new Error('not authorized'), { retriable: false })]);
  const error = await new TopicAdmin(kafka).offsets('t').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TransportError);
  expect((error as Error).message).toBe('could not fetch the offsets of "t": Error: not authorized');
  expect(calls()).toBe(1);
});
