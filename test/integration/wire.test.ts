/**
 * The wire protocol as docs/protocol.md states it, checked with hand-written
 * JSON and raw Kafka messages rather than with our own encoder.
 */
import { createKafka, resolveConnection } from '../../src/kafka/client';
import { GroupConsumer, type InboundMessage } from '../../src/kafka/consumer';
import { Producers } from '../../src/kafka/producer';
import { EPHEMERAL_TOPIC_PREFIX, newEphemeralTopic } from '../../src/kafka/naming';
import { connection, createTopics, deleteTopics, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

async function withRaw<T>(fn: (raw: { producers: Producers; listen: (topic: string) => Promise<{ got: InboundMessage[]; stop: () => Promise<void> }> }) => Promise<T>): Promise<T> {
  const kafka = createKafka(resolveConnection(connection));
  const producers = new Producers(kafka, EPHEMERAL_TOPIC_PREFIX);
  const consumers: GroupConsumer[] = [];
  const listen = async (topic: string) => {
    const got: InboundMessage[] = [];
    const c = new GroupConsumer(kafka, { groupId: testName('raw'), topic, fromBeginning: true, autoCommit: false, maxWaitTimeInMs: 100, joinTimeoutMs: 30000 });
    consumers.push(c);
    await c.start(async (m) => void got.push(m));
    return { got, stop: () => c.stop() };
  };
  try {
    return await fn({ producers, listen });
  } finally {
    for (const c of consumers) await c.stop();
    await producers.close();
  }
}

describe('wire protocol (docs/protocol.md)', () => {
  test('a request written by hand gets a reply on exactly the named returnTopic, same key, exact shape', async () => {
    const svc = await startService<number[], number>((xs) => xs.reduce((a, b) => a + b, 0));
    const [replyTopic] = await createTopics(testName('reply'));
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
    const [replyTopic] = await createTopics(testName('reply'));
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
        await producers.sendOnce(topic, [{ key: 'k', value: '{"correlationId":"early","result":1}' }]);
        const listener = await listen(topic);
        await waitFor(() => listener.got.length === 1, 'the early reply');
        expect(listener.got[0]!.value!.toString()).toBe('{"correlationId":"early","result":1}');
        await listener.stop();
      });
    } finally {
      await deleteTopics([topic]);
    }
  });

  test('a malformed request is skipped with an error report, and the service goes on', async () => {
    const errors: unknown[] = [];
    const svc = await startService<number, number>((n) => n + 1, { onError: (e) => errors.push(e) });
    const [replyTopic] = await createTopics(testName('reply'));
    try {
      await withRaw(async ({ producers, listen }) => {
        const replies = await listen(replyTopic!);
        await producers.send(svc.topic, [{ value: 'not json' }, { value: '[1,2]' }, { value: `{"data":1,"returnTopic":"${replyTopic}","correlationId":"ok"}` }]);
        await waitFor(() => replies.got.length === 1, 'the good message answered');
        expect(JSON.parse(replies.got[0]!.value!.toString())).toEqual({ correlationId: 'ok', result: 2 });
        await waitFor(() => errors.length === 2, 'two malformed messages reported');
        expect(String(errors[0])).toContain('request is not JSON');
        expect(String(errors[1])).toContain('request must be a JSON object, got an array');
      });
    } finally {
      await deleteTopics([replyTopic!]);
    }
  });
});
