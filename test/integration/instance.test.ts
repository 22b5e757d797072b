/**
 * Instance reply mode: one reply topic per Pipeline / Reactor, replies
 * matched by correlation id. Same wire protocol: the services below are the
 * same as in ephemeral mode and cannot tell the difference.
 */
import type { DepsMap } from '../../src/dag';
import { CallTimeoutError, ConfigError } from '../../src/errors';
import { createTopics, ephemeralTopicsOnBroker, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

describe('instance reply mode', () => {
  test('200 concurrent requests through one reply topic: each gets its own answer; the topic is created at start and deleted at close', async () => {
    const svc = await startService<number, number>((n) => n * n);
    const before = await ephemeralTopicsOnBroker();
    const pipeline = await startPipeline({ replyMode: 'instance' });
    const mine = (await ephemeralTopicsOnBroker()).filter((t) => !before.includes(t));
    expect(mine).toHaveLength(1); // created at start, before any request

    const inputs = Array.from({ length: 200 }, (_, i) => i);
    const outcomes = await Promise.all(inputs.map((i) => pipeline.call<number>(svc.topic, i)));
    expect(outcomes.map((o) => o.result)).toEqual(inputs.map((i) => i * i));
    expect(new Set(outcomes.map((o) => o.returnTopic))).toEqual(new Set(mine));
    expect(new Set(outcomes.map((o) => o.correlationId)).size).toBe(200);
    expect(outcomes.every((o) => o.timings.createTopicMs === 0)).toBe(true);
    expect([pipeline.ignoredReplies, pipeline.duplicateReplies]).toEqual([0, 0]);
    expect(await ephemeralTopicsOnBroker()).toEqual(expect.arrayContaining(mine));
    await pipeline.close();
    expect(await ephemeralTopicsOnBroker()).not.toContain(mine[0]);
  });

  test('a Reactor in instance mode runs a DAG; a node can ask for ephemeral, and a request can override its Pipeline', async () => {
    const inc = await startService<number[], number>(([n, ...deps]) => n! + deps.reduce((a, b) => a + (b as number), 0) + 1);
    const orchestrator = await startReactor(
      (m): DepsMap => ({
        a: { topic: inc.topic, args: [m.value as number] },
        b: { topic: inc.topic, args: [10], deps: ['a'], replyMode: 'ephemeral' },
        c: { topic: inc.topic, args: [100], deps: ['a', 'b'] },
      }),
      (_m, results) => results,
      { replyMode: 'instance' },
    );
    expect(orchestrator.els.ownedTopics).toHaveLength(1); // its reply topic, from start
    const pipeline = await startPipeline(); // ephemeral by default
    const viaEphemeral = await pipeline.call(orchestrator.topic, 1);
    const viaInstance = await pipeline.call(orchestrator.topic, 1, { replyMode: 'instance' });
    // a = 1+1 = 2; b = 10+2+1 = 13; c = 100+2+13+1 = 116
    expect(viaEphemeral.result).toEqual({ a: 2, b: 13, c: 116 });
    expect(viaInstance.result).toEqual({ a: 2, b: 13, c: 116 });
    expect(viaInstance.returnTopic).not.toBe(viaEphemeral.returnTopic);
    await waitFor(() => orchestrator.outputs.length === 2, 'both runs on the Subject');
    expect(orchestrator.outputs.every((o) => o.error === undefined)).toBe(true);
  });

  test('late and duplicate replies are counted and dropped; a malformed value on the reply topic breaks nothing', async () => {
    const [silent] = await createTopics(testName('raw-responder'));
    const pipeline = await startPipeline({ replyMode: 'instance' });
    await withRaw(async ({ producers, listen }) => {
      const requests = await listen(silent!);
      const reply = (i: number, result: unknown) => {
        const r = JSON.parse(requests.got[i]!.value!.toString('utf8')) as { returnTopic: string; correlationId: string };
        return producers.send(r.returnTopic, [{ value: JSON.stringify({ correlationId: r.correlationId, result }) }]);
      };

      // Late: the request timed out before anyone answered.
      await expect(pipeline.request(silent!, 'first', { timeoutMs: 1000 })).rejects.toBeInstanceOf(CallTimeoutError);
      await waitFor(() => requests.got.length === 1, 'the first request');
      await reply(0, 'too late');
      await waitFor(() => pipeline.ignoredReplies === 1, 'the late reply to be counted');

      // Duplicate: answered twice; the caller sees the first answer only.
      const answer = pipeline.request(silent!, 'second', { timeoutMs: 60000 });
      await waitFor(() => requests.got.length === 2, 'the second request');
      await reply(1, 'one');
      await reply(1, 'two');
      await expect(answer).resolves.toBe('one');
      await waitFor(() => pipeline.duplicateReplies === 1, 'the duplicate to be counted');

      // Garbage on the reply topic is not a reply: counted, and the topic still serves.
      const returnTopic = JSON.parse(requests.got[1]!.value!.toString('utf8')).returnTopic as string;
      await producers.send(returnTopic, [{ value: 'not json' }]);
      const third = pipeline.request(silent!, 'third', { timeoutMs: 60000 });
      await waitFor(() => requests.got.length === 3, 'the third request');
      await reply(2, 'three');
      await expect(third).resolves.toBe('three');
      expect([pipeline.ignoredReplies, pipeline.duplicateReplies]).toEqual([1, 1]);
    });
  });

  test('a service keeps answering new callers after an instance reply topic it wrote to is deleted (kafkajs #1622)', async () => {
    const svc = await startService<number, number>((n) => n + 1);
    for (let round = 0; round < 3; round++) {
      const pipeline = await startPipeline({ replyMode: 'instance' });
      expect(await Promise.all([1, 2, 3].map((n) => pipeline.request(svc.topic, n + round)))).toEqual([2, 3, 4].map((n) => n + round));
      await pipeline.close(); // deletes the reply topic the service's producer wrote to
    }
    expect(svc.els.repliesToGoneTopics).toBe(0);
  });

  test('a bad replyMode is a ConfigError (Pipeline, request) or a DagValidationError error reply (deps map node)', async () => {
    const svc = await startService<number, number>((n) => n);
    const orchestrator = await startReactor(
      (): DepsMap => ({ a: { topic: svc.topic, args: [], replyMode: 'fast' as never } }),
      () => 'unreachable',
    );
    const pipeline = await startPipeline();
    await expect(startPipeline({ replyMode: 'fast' as never })).rejects.toThrow(ConfigError);
    await expect(pipeline.request(svc.topic, 1, { replyMode: 'fast' as never })).rejects.toThrow("replyMode: must be 'ephemeral' or 'instance', got \"fast\"");
    const error = await pipeline.request(orchestrator.topic, 1).catch((e: unknown) => e);
    expect((error as { remote: { name: string; message: string } }).remote).toEqual({
      name: 'DagValidationError',
      message: 'node "a": replyMode must be \'ephemeral\' or \'instance\', got "fast"',
    });
  });
});
