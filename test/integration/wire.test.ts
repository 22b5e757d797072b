/**
 * The wire protocol as docs/protocol.md states it, checked with hand-written
 * JSON and raw Kafka messages rather than with our own encoder.
 */
import { newEphemeralTopic } from '../../src/naming';
import { topicAdmin } from '../../src/kafka/topic-tools';
import { DEAD_LETTER_HEADERS } from '../../src/protocol/headers';
import { connection, createTopics, deleteTopics } from '../helpers/broker';
import { withRaw } from '../helpers/raw';
import { closeAllAndCheckTopics, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

describe('wire protocol (docs/protocol.md)', () => {
  test('a request written by hand gets a reply on exactly the named returnTopic, same key, exact shape', async () => {
    const svc = await startService<number[], number>((xs) => xs.reduce((a, b) => a + b, 0));
    // Named like kafka-fusion's own return topics: a Reactor replies only to allow-listed topics.
    const [replyTopic] = await createTopics(newEphemeralTopic());
    try {
      await withRaw(async ({ producers, listen }) => {
        const replies = await listen(replyTopic!);
        await producers.send(svc.topic, [{ key: 'order-7', value: `{"data":[1,2,3],"returnTopic":"${replyTopic}","correlationId":"abc-1"}` }]);
        await waitFor(() => replies.got.length === 1, 'one reply on the return topic');
        const reply = replies.got[0]!;
        expect(reply.keyText).toBe('order-7');
        expect(JSON.parse(reply.value!.toString('utf8'))).toEqual({ correlationId: 'abc-1', result: 6 });
      });
    } finally {
      await deleteTopics([replyTopic!]);
    }
  });

  test("a NestJS or Spring request's kafka_replyPartition is honoured in either form; one that is not a partition of the reply topic is dead-lettered, not lost", async () => {
    const svc = await startService<number[], number>((xs) => xs.reduce((a, b) => a + b, 0));
    const replyTopic = newEphemeralTopic();
    const admin = topicAdmin(connection);
    try {
      await admin.create([{ topic: replyTopic, partitions: 3 }]);
    } finally {
      await admin.close();
    }
    const springId = Buffer.from('8f1e0c7a00ff4b1d9e2a3c4d5e6f7081', 'hex');
    try {
      await withRaw(async ({ producers, listen }) => {
        const replies = await listen(replyTopic);
        const dlq = await listen(`${svc.topic}.dlq`);
        const route = { kafka_replyTopic: replyTopic };
        await producers.send(svc.topic, [
          { value: '[1,2]', headers: { ...route, kafka_correlationId: 'nest-1', kafka_replyPartition: '2' } }, // NestJS: decimal text
          { value: '[3]', headers: { ...route, kafka_correlationId: springId, kafka_replyPartition: Buffer.from([0, 0, 0, 1]) } }, // Spring: binary id, 4-byte int
          { value: '[4]', headers: { ...route, kafka_correlationId: 'nest-2', kafka_replyPartition: '7' } },
        ]);
        await waitFor(() => replies.got.length === 2 && dlq.got.length === 1, 'two replies and one dead letter', 60000);
        const nest = replies.got.find((r) => r.text.kafka_correlationId === 'nest-1')!;
        expect({ partition: nest.partition, value: nest.value!.toString() }).toEqual({ partition: 2, value: '3' });
        const spring = replies.got.find((r) => r !== nest)!;
        expect((spring.headers.kafka_correlationId as Buffer).equals(springId)).toBe(true); // echoed byte for byte
        expect({ partition: spring.partition, value: spring.value!.toString() }).toEqual({ partition: 1, value: '3' });
        expect(dlq.got[0]!.text[DEAD_LETTER_HEADERS.reason]).toBe(
          `kafka_replyPartition 7 is not a partition of "${replyTopic}" (it has 3); nothing was written to it`,
        );
      });
    } finally {
      await deleteTopics([replyTopic]);
    }
  });

  test('an error reply has the documented shape', async () => {
    const svc = await startService<unknown, never>(() => {
      throw new TypeError('bad input');
    });
    // Named like kafka-fusion's own return topics: a Reactor replies only to allow-listed topics.
    const [replyTopic] = await createTopics(newEphemeralTopic());
    try {
      await withRaw(async ({ producers, listen }) => {
        const replies = await listen(replyTopic!);
        await producers.send(svc.topic, [{ value: `{"data":null,"returnTopic":"${replyTopic}","correlationId":"e-1"}` }]);
        await waitFor(() => replies.got.length === 1, 'one error reply');
        expect(JSON.parse(replies.got[0]!.value!.toString('utf8'))).toEqual({ correlationId: 'e-1', error: { name: 'TypeError', message: 'bad input' } });
      });
    } finally {
      await deleteTopics([replyTopic!]);
    }
  });

  test('a reply written before its listener joined is still read (fusion-clj lost it)', async () => {
    // The requester joins before sending; this shows the second guard on its
    // own: a fresh return topic read from the beginning loses nothing.
    const topic = newEphemeralTopic();
    await createTopics(topic);
    try {
      await withRaw(async ({ producers, listen }) => {
        await producers.sendReply(topic, { key: 'k', value: '{"correlationId":"early","result":1}' });
        const listener = await listen(topic);
        await waitFor(() => listener.got.length === 1, 'the early reply');
        expect(listener.got[0]!.value!.toString()).toBe('{"correlationId":"early","result":1}');
        await listener.stop();
      });
    } finally {
      await deleteTopics([topic]);
    }
  });
});
