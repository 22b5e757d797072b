/**
 * User headers travel: a request's headers reach every dependency call of
 * its DAG and come back on the reply, so correlation and tenant ids follow
 * the work. The library's own (`kafka-fusion.*`) do not.
 */
import type { DepsMap } from '../../src/dag';
import { ConfigError } from '../../src/errors';
import { newEphemeralTopic } from '../../src/naming';
import { createTopics, deleteTopics } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startReactor } from '../helpers/fusion';
import { texts } from '../helpers/bytes';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

test('headers of a request reach the dependency calls (both reply modes) and the reply; kafka-fusion.* ones stay behind', async () => {
  const seen: Record<string, string>[] = [];
  const dep = await startReactor<unknown, string>(
    () => undefined,
    (m) => (seen.push(texts(m.headers)), 'ok'),
  );
  const orchestrator = await startReactor<unknown, unknown>(
    (): DepsMap => ({ eph: { topic: dep.topic, args: [] }, inst: { topic: dep.topic, args: [], replyMode: 'instance' } }),
    (_m, r) => r,
  );
  const pipeline = await startPipeline();
  await expect(pipeline.request(orchestrator.topic, 1, { headers: { tenant: 't-1', 'x-request-id': 'r-42', 'kafka-fusion.private': 'no' } })).resolves.toEqual({
    eph: 'ok',
    inst: 'ok',
  });
  expect(seen).toHaveLength(2);
  for (const h of seen) {
    expect(h).toMatchObject({ tenant: 't-1', 'x-request-id': 'r-42' });
    expect(h['kafka-fusion.private']).toBeUndefined();
  }

  // The reply carries them too (read below the library).
  const replyTopic = newEphemeralTopic();
  await createTopics(replyTopic);
  try {
    await withRaw(async ({ producers, listen }) => {
      const replies = await listen(replyTopic);
      await producers.send(orchestrator.topic, [
        { value: JSON.stringify({ data: 2, returnTopic: replyTopic, correlationId: 'h' }), headers: { tenant: 't-2' } },
      ]);
      await waitFor(() => replies.got.length === 1, 'the reply');
      expect(replies.got[0]!.text.tenant).toBe('t-2');
    });
  } finally {
    await deleteTopics([replyTopic]);
  }
});

test("Spring's headers travel on envelope requests (a Spring or NestJS service answers by them) unless interopHeaders is false", async () => {
  const seen: Record<string, string>[] = [];
  const svc = await startReactor<unknown, string>(
    () => undefined,
    (m) => (seen.push(texts(m.headers)), 'ok'),
  );
  await expect((await startPipeline()).request(svc.topic, 1)).resolves.toBe('ok');
  await expect((await startPipeline({ interopHeaders: false })).request(svc.topic, 2)).resolves.toBe('ok');
  expect(seen[0]).toMatchObject({ kafka_correlationId: expect.any(String), kafka_replyTopic: expect.stringMatching(/^kafka-fusion\.reply\./) });
  expect(Object.keys(seen[1]!).filter((k) => k.startsWith('kafka_'))).toEqual([]);
});

test('headers that are not an object of strings are a ConfigError', async () => {
  const pipeline = await startPipeline();
  await expect(pipeline.request('any.topic', 1, { headers: { n: 1 as never } })).rejects.toBeInstanceOf(ConfigError);
  await expect(pipeline.send('any.topic', 1, { headers: [] as never })).rejects.toThrow('headers: must be an object whose values are strings');
});
