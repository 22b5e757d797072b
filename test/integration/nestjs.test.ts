/**
 * Interop: a real NestJS Kafka microservice (`@MessagePattern`) serves a node
 * of a kafka-fusion DAG, unchanged. The node is called with `wire: 'headers'`
 * (the args as the bare JSON body NestJS reads as its payload, Spring's
 * kafka_correlationId / kafka_replyTopic headers), and NestJS's reply (a bare
 * body, the id in its header; errors in kafka_nest-err) is read as it comes.
 *
 * In instance reply mode: NestJS replies through one long-lived kafkajs
 * producer, which kafkajs #1622 breaks once it has written to a return topic
 * that is then deleted, as every ephemeral one is (tried here: the second
 * ephemeral call timed out, and NestJS left the failed reply as an unhandled
 * rejection). docs/protocol.md says so.
 */
import type { DepsMap } from '../../src/dag';
import { RemoteError } from '../../src/errors';
import { headerText } from '../../src/reactor/message';
import { brokers, createTopics, testName } from '../helpers/broker';
import { closeAfterTest, closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { startNestClient, startNestService } from '../fixtures/nest-service';

afterEach(closeAllAndCheckTopics);

test('a NestJS @MessagePattern service serves one node of a DAG: results flow on, its errors come back named, headers reach it', async () => {
  const [sumTopic] = await createTopics(testName('nest-sum'));
  const nest = await startNestService(brokers, sumTopic!, testName('nest'));
  closeAfterTest(nest.close);
  const twice = await startService<number[], number>((args) => 2 * args[args.length - 1]!);
  const orchestrator = await startReactor<number[], unknown>(
    (m): DepsMap => ({
      sum: { topic: sumTopic!, args: m.value, wire: 'headers', replyMode: 'instance' },
      twice: { topic: twice.topic, args: [], deps: ['sum'] },
    }),
    (_m, r) => r,
  );
  const pipeline = await startPipeline();

  for (let i = 1; i <= 5; i++) {
    await expect(pipeline.request(orchestrator.topic, [1, 2, i], { headers: { tenant: `t-${i}` } })).resolves.toEqual({ sum: 3 + i, twice: 2 * (3 + i) });
  }
  expect(nest.seen).toHaveLength(5);
  expect(nest.seen[4]).toMatchObject({
    tenant: 't-5',
    kafka_correlationId: expect.any(String),
    kafka_replyTopic: expect.stringMatching(/^kafka-fusion\.reply\./),
  });

  const error = (await pipeline.request(orchestrator.topic, [1, -2]).catch((e: unknown) => e)) as RemoteError;
  expect(error).toBeInstanceOf(RemoteError);
  expect(error.remote.message).toBe(
    'node "sum" failed: RemoteError: node "sum" (topic "' + sumTopic + '") replied with Error: negative numbers are not summed',
  );
});

test('a NestJS ClientKafka calls a Reactor as it would a NestJS service: the DAG result comes back, headers reach procFn, an error is a Nest error', async () => {
  const [mainTopic] = await createTopics(testName('nest-caller'));
  const [replyTopic] = await createTopics(`${mainTopic}.reply`); // NestJS replies on <pattern>.reply
  const twice = await startService<number[], number>((args) => 2 * args[0]!);
  const tenants: (string | undefined)[] = [];
  const orchestrator = await startReactor<number[], unknown>(
    (m): DepsMap => ({ twice: { topic: twice.topic, args: [m.value.reduce((a, b) => a + b, 0)] } }),
    (m, r) => {
      tenants.push(headerText(m, 'tenant'));
      if (m.value.some((n) => n < 0)) throw new Error('negative numbers are not summed');
      return { sum: r.twice };
    },
    { mainTopic, returnTopicAllowList: [replyTopic!] },
  );
  const nest = await startNestClient(brokers, orchestrator.topic, testName('nest-client'));
  closeAfterTest(nest.close);

  for (let i = 1; i <= 3; i++) {
    await expect(nest.request({ value: [1, i], headers: { tenant: `t-${i}` } })).resolves.toEqual({ sum: 2 * (1 + i) });
  }
  await expect(nest.request([2, 3])).resolves.toEqual({ sum: 10 }); // plain data, no headers
  expect(tenants).toEqual(['t-1', 't-2', 't-3', undefined]);
  await expect(nest.request([1, -2])).rejects.toEqual({ name: 'Error', message: 'negative numbers are not summed' });
  expect(orchestrator.els.deadLettered).toBe(0);
});
