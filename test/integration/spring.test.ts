/**
 * Interop: a real Spring Kafka service (Spring Boot, `@KafkaListener` +
 * `@SendTo`, test/fixtures/spring-service) serves a node of a kafka-fusion
 * DAG, unchanged. The node is called with `wire: 'headers'`: the args as the
 * bare JSON body the listener reads, Spring's kafka_correlationId and
 * kafka_replyTopic headers. Spring sends the listener's return value to
 * kafka_replyTopic and echoes kafka_correlationId; the reply (a bare
 * StringSerializer body) is read as it comes.
 *
 * Both reply modes: unlike NestJS's kafkajs producer (kafkajs #1622), Spring's
 * Java producer forgets a deleted topic, so ephemeral return topics, each
 * deleted after its call, do not break it.
 *
 * And the other way: a Spring `ReplyingKafkaTemplate` calls a Reactor as it
 * would a Spring service (a bare body; its binary correlation id, echoed).
 */
import type { DepsMap } from '../../src/dag';
import { RemoteError } from '../../src/errors';
import { headerText } from '../../src/reactor/message';
import type { ReplyMode } from '../../src/reply-mode';
import { brokers, createTopics, testName } from '../helpers/broker';
import { closeAfterTest, closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { buildSpringService, startSpringCaller, startSpringService } from '../fixtures/spring-service';

// The first build on a machine downloads Spring Boot from Maven Central.
beforeAll(() => buildSpringService(), 600000);
afterEach(closeAllAndCheckTopics);

test.each<[ReplyMode]>([['ephemeral'], ['instance']])(
  'a Spring @KafkaListener + @SendTo service serves one node of a DAG (%s return topics): results flow on, headers reach it',
  async (replyMode) => {
    const [productTopic] = await createTopics(testName('spring-product'));
    const spring = await startSpringService(brokers, productTopic!, testName('spring'));
    closeAfterTest(spring.close);
    const twice = await startService<number[], number>((args) => 2 * (args[0] as unknown as { product: number }).product);
    const orchestrator = await startReactor<number[], unknown>(
      (m): DepsMap => ({
        product: { topic: productTopic!, args: m.value, wire: 'headers', replyMode },
        twice: { topic: twice.topic, args: [], deps: ['product'] },
      }),
      (_m, r) => r,
    );
    const pipeline = await startPipeline();

    for (let i = 1; i <= 4; i++) {
      await expect(pipeline.request(orchestrator.topic, [2, 3, i], { headers: { tenant: `t-${i}` } })).resolves.toEqual({
        product: { product: 6 * i, tenant: `t-${i}` }, // the tenant header reached the Spring listener
        twice: 12 * i,
      });
    }
    expect(spring.served).toEqual(['[2,3,1]', '[2,3,2]', '[2,3,3]', '[2,3,4]']); // each request once, its body the bare args
  },
  240000,
);

test('a Spring listener that throws sends no reply (no error convention in Spring): the call ends at its timeout, named', async () => {
  const [productTopic] = await createTopics(testName('spring-product'));
  const spring = await startSpringService(brokers, productTopic!, testName('spring'));
  closeAfterTest(spring.close);
  const orchestrator = await startReactor<number[], unknown>(
    (m): DepsMap => ({ product: { topic: productTopic!, args: m.value, wire: 'headers', replyMode: 'instance' } }),
    (_m, r) => r,
    { callTimeoutMs: 5000 },
  );
  const pipeline = await startPipeline();
  await expect(pipeline.request(orchestrator.topic, [2, 3])).resolves.toEqual({ product: { product: 6 } });
  const error = (await pipeline.request(orchestrator.topic, [1, -2], { timeoutMs: 60000 }).catch((e: unknown) => e)) as RemoteError;
  expect(error).toBeInstanceOf(RemoteError);
  expect(error.remote.message).toMatch(
    new RegExp(`^node "product" failed: CallTimeoutError: node "product": no reply from topic "${productTopic}" within 5000 ms`),
  );
}, 240000);

test('a Spring ReplyingKafkaTemplate calls a Reactor as it would a Spring service: the DAG result comes back by its binary correlation id; an error, through its reply error checker', async () => {
  const [mainTopic] = await createTopics(testName('spring-caller'));
  const [replyTopic] = await createTopics(`${mainTopic}.replies`);
  const twice = await startService<number[], number>((args) => 2 * args[0]!);
  const seen: { tenant?: string; correlationId?: string }[] = [];
  const orchestrator = await startReactor<number[], unknown>(
    (m): DepsMap => ({ twice: { topic: twice.topic, args: [m.value.reduce((a, b) => a + b, 0)] } }),
    (m, r) => {
      seen.push({ tenant: headerText(m, 'tenant'), correlationId: m.correlationId });
      if (m.value.some((n) => n < 0)) throw new Error('negative numbers are not summed');
      return { sum: r.twice };
    },
    { mainTopic, returnTopicAllowList: [replyTopic!] },
  );
  const spring = await startSpringCaller(brokers, orchestrator.topic, replyTopic!, testName('spring-caller'));
  closeAfterTest(spring.close);

  for (let i = 1; i <= 3; i++) {
    expect(await spring.request(`t-${i}`, `[1,${i}]`)).toEqual({ reply: JSON.stringify({ sum: 2 * (1 + i) }) });
  }
  expect(seen.map((s) => s.tenant)).toEqual(['t-1', 't-2', 't-3']);
  // Spring's ids are 16 binary bytes: the Reactor names them in hex (and echoes the bytes).
  for (const s of seen) expect(s.correlationId).toMatch(/^[0-9a-f]{32}$/);
  expect(await spring.request('t-4', '[1,-2]')).toEqual({ error: JSON.stringify({ name: 'Error', message: 'negative numbers are not summed' }) });
  expect(orchestrator.els.deadLettered).toBe(0);
}, 240000);
