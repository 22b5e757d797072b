/**
 * The wire protocol as docs/protocol.md states it, checked with hand-written
 * JSON and raw Kafka messages rather than with our own encoder.
 */
import { newEphemeralTopic } from '../../src/kafka/naming';
import { createTopics, deleteTopics } from '../helpers/broker';
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
        expect(reply.key).toBe('order-7');
        expect(JSON.parse(reply.value!.toString('utf8'))).toEqual({ correlationId: 'abc-1', result: 6 });
      });
    } finally {
      await deleteTopics([replyTopic!]);
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
