/**
 * kafkajs #1622: a producer that has sent to a topic deleted since fails its
 * metadata refreshes, and so every send to a topic it has not sent to yet.
 * A responder replies to a new ephemeral topic per call, each deleted right
 * after: the first test shows the bug is real in this kafkajs, the second
 * that a long-lived responder keeps answering.
 */
import { createKafka, resolveConnection } from '../../src/kafka/client';
import { Producers } from '../../src/kafka/producer';
import { connection, createTopics, deleteTopics, ephemeralTopicsOnBroker, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

const CALLS = 1000;

test('the bug is real: a shared kafkajs producer cannot send to a new topic after one it used was deleted', async () => {
  const kafka = createKafka(resolveConnection({ ...connection, requestTimeoutMs: 5000 }));
  // A prefix that is not the ephemeral one, so that `send` uses the shared producer.
  const producers = new Producers(kafka);
  const [first, second] = await createTopics(testName('gone'), testName('new'));
  try {
    await producers.send(first!, [{ value: '1' }]);
    await deleteTopics([first!]);
    await expect(producers.send(second!, [{ value: '2' }])).rejects.toThrow(/could not send to/);
    // The reply path (a producer per return topic) is not affected.
    await expect(producers.sendReply(second!, { value: '3' })).resolves.toBeUndefined();
  } finally {
    await producers.close();
    await deleteTopics([second!]);
  }
});

test(`one long-lived responder answers ${CALLS} sequential calls, each on a return topic deleted right after`, async () => {
  const svc = await startService<number, number>((n) => n * n);
  // No return topics created ahead: after each call, no return topic may be left at all.
  const pipeline = await startPipeline({ spareReturnTopics: 0 });
  const failures: string[] = [];
  const started = Date.now();
  for (let i = 0; i < CALLS; i++) {
    const answer = await pipeline.request<number>(svc.topic, i, { timeoutMs: 30000 }).catch((e: unknown) => e);
    if (answer !== i * i) failures.push(`call ${i}: ${String(answer)}`);
    // Make sure the previous return topic is really gone before the next reply.
    await waitFor(async () => (await ephemeralTopicsOnBroker()).length === 0, `return topic of call ${i} deleted`, 30000, 20);
    if ((i + 1) % 250 === 0)
      console.log(`kafkajs-1622: ${i + 1}/${CALLS} calls, ${failures.length} failed, ${Math.round((Date.now() - started) / (i + 1))} ms per call`);
  }
  expect(failures).toEqual([]);
  expect(svc.outputs).toHaveLength(CALLS);
}, 900000);
