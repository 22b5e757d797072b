import { prependResults, toDot, toMermaid, type DepsMap } from '../../src/dag';
import { CallTimeoutError, RemoteError, UnknownTopicError } from '../../src/errors';
import type { ReactorMessage } from '../../src/reactor/types';
import { createTopics, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The three math services of fusion-clj's README; each records what it was sent. */
async function mathServices() {
  const seen: Record<'add' | 'subtract' | 'multiply', number[][]> = { add: [], subtract: [], multiply: [] };
  const add = await startService<number[], number>((xs) => (seen.add.push(xs), sum(xs)));
  const subtract = await startService<number[], number>((xs) => (seen.subtract.push(xs), xs.slice(1).reduce((a, b) => a - b, xs[0]!)));
  const multiply = await startService<number[], number>((xs) => (seen.multiply.push(xs), xs.reduce((a, b) => a * b, 1)));
  return { seen, topics: { add: add.topic, subtract: subtract.topic, multiply: multiply.topic } };
}

describe('Reactor over a real broker', () => {
  test("fusion-clj's README example gives its numbers: add [1,2,3] -> 6, subtract [6,2] -> 4", async () => {
    const { seen, topics } = await mathServices();
    const orchestrator = await startReactor<{ n: number }, unknown>(
      (m): DepsMap => ({
        one: { topic: topics.add, args: [1, 2, 3] },
        two: { topic: topics.subtract, args: [2], argIn: prependResults, deps: ['one'] },
        three: { topic: topics.multiply, args: [m.value.n], deps: ['two'] },
      }),
      (m, results) => ({ input: m.value, results }),
    );
    const pipeline = await startPipeline();

    const out = await pipeline.request<{ input: unknown; results: Record<string, number> }>(orchestrator.topic, { n: 10 });

    expect(out.results).toEqual({ one: 6, two: 4, three: 40 });
    expect(out.input).toEqual({ n: 10 });
    expect(seen.add).toEqual([[1, 2, 3]]);
    expect(seen.subtract).toEqual([[6, 2]]); // prepend: fusion's `cons`
    expect(seen.multiply).toEqual([[10, 4]]); // default: append in deps order (fusion's `conj`)
    await waitFor(() => orchestrator.outputs.length === 1, 'the Subject to receive the result');
    expect(orchestrator.outputs[0]!.result).toEqual(out);
  });

  test('diamond DAG: b and c run concurrently, d gets both results in deps order', async () => {
    // b and c each wait (with a deadline) until the other has been called: run
    // one after the other, the first would time out and the test would fail.
    const received = new Set<string>();
    const barrierService = (name: string) =>
      startService<number[], string>(async (args) => {
        received.add(name);
        await waitFor(() => received.has('b') && received.has('c'), `both b and c to be called (${name} waiting)`, 20000, 10);
        return `${name}(${args.join(',')})`;
      });
    const a = await startService<number[], string>((args) => `a(${args.join(',')})`);
    const b = await barrierService('b');
    const c = await barrierService('c');
    const d = await startService<unknown[], string>((args) => `d(${args.join(',')})`);
    const orchestrator = await startReactor(
      (): DepsMap => ({
        a: { topic: a.topic, args: [1] },
        b: { topic: b.topic, args: [], deps: ['a'] },
        c: { topic: c.topic, args: [], deps: ['a'] },
        d: { topic: d.topic, args: [], deps: ['c', 'b'] },
      }),
      (_m, results) => results,
    );
    const pipeline = await startPipeline();

    const results = await pipeline.request<Record<string, string>>(orchestrator.topic, null);

    expect(results).toEqual({ a: 'a(1)', b: 'b(a(1))', c: 'c(a(1))', d: 'd(c(a(1)),b(a(1)))' });
    await waitFor(() => orchestrator.outputs.length === 1, 'the run on the Subject');
    const o = orchestrator.outputs[0]!.run!.outcomes;
    // Timestamps, not sleeps: b and c overlap; d starts after both end; both start after a ends.
    expect(o.b!.startedAt!).toBeLessThan(o.c!.finishedAt!);
    expect(o.c!.startedAt!).toBeLessThan(o.b!.finishedAt!);
    expect(o.b!.startedAt!).toBeGreaterThanOrEqual(o.a!.finishedAt!);
    expect(o.d!.startedAt!).toBeGreaterThanOrEqual(Math.max(o.b!.finishedAt!, o.c!.finishedAt!));
    // The run's picture, from what the Subject carries: four nodes done, four edges.
    const { plan, run } = orchestrator.outputs[0]!;
    const dot = toDot(plan!, run);
    expect(dot.match(/fillcolor="#d8f3dc"/g)).toHaveLength(4);
    expect(dot.match(/->/g)).toHaveLength(4);
    expect(toMermaid(plan!, run)).toMatch(/n3\["d<br\/>kf-test-main-[^<]+<br\/>done \d+ ms"\]/);
  });

  test('a dependency that throws: the caller gets an error naming the node, the topic and the cause', async () => {
    const failing = await startService<unknown, never>(() => {
      throw new RangeError('no such account 42');
    });
    const orchestrator = await startReactor(
      (): DepsMap => ({ lookup: { topic: failing.topic, args: [42] }, after: { topic: failing.topic, args: [], deps: ['lookup'] } }),
      () => 'unreachable',
    );
    const pipeline = await startPipeline();

    const error = await pipeline.request(orchestrator.topic, {}).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RemoteError);
    const remote = error as RemoteError;
    expect(remote.topic).toBe(orchestrator.topic);
    expect(remote.remote.name).toBe('DagRunError');
    expect(remote.remote.message).toContain('node "lookup" failed');
    expect(remote.remote.message).toContain(failing.topic);
    expect(remote.remote.message).toContain('RangeError: no such account 42');
    await waitFor(() => orchestrator.outputs.length === 1, 'the error on the Subject');
    expect(orchestrator.outputs[0]!.error).toBeDefined();
    // The failed run has its picture too: which node failed, which never ran.
    const { plan, run } = orchestrator.outputs[0]!;
    expect(Object.values(run!.outcomes).map((n) => [n.id, n.status])).toEqual([
      ['lookup', 'failed'],
      ['after', 'skipped'],
    ]);
    expect(toDot(plan!, run)).toContain('fillcolor="#ffd6d6"');
  });

  test('a cycle in the deps map is an error reply naming the cycle; the Reactor goes on', async () => {
    const echo = await startService<unknown, unknown>((v) => v);
    let calls = 0;
    const orchestrator = await startReactor(
      (): DepsMap =>
        ++calls === 1
          ? {
              a: { topic: echo.topic, args: [], deps: ['c'] },
              b: { topic: echo.topic, args: [], deps: ['a'] },
              c: { topic: echo.topic, args: [], deps: ['b'] },
            }
          : { a: { topic: echo.topic, args: ['fine'] } },
      (_m, r) => r,
    );
    const pipeline = await startPipeline();

    const error = (await pipeline.request(orchestrator.topic, 1).catch((e: unknown) => e)) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remote).toEqual({ name: 'DagCycleError', message: 'deps map has a cycle: a -> c -> b -> a' });
    await expect(pipeline.request(orchestrator.topic, 2)).resolves.toEqual({ a: ['fine'] });
  });

  test('a call nobody answers times out with a typed error naming node and topic', async () => {
    const [silent] = await createTopics(testName('silent'));
    const orchestrator = await startReactor(
      (): DepsMap => ({ slow: { topic: silent!, args: [] } }),
      () => 'unreachable',
      { callTimeoutMs: 3000 },
    );
    const pipeline = await startPipeline();

    const error = (await pipeline.request(orchestrator.topic, {}).catch((e: unknown) => e)) as RemoteError;

    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remote.message).toContain(`node "slow": no reply from topic "${silent}" within 3000 ms`);
    expect(error.remote.message).toContain('CallTimeoutError');
  });

  test('Pipeline.request rejects with CallTimeoutError when nobody answers', async () => {
    const [silent] = await createTopics(testName('silent'));
    const pipeline = await startPipeline();
    const error = (await pipeline.request(silent!, {}, { timeoutMs: 2000 }).catch((e: unknown) => e)) as CallTimeoutError;
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error.topic).toBe(silent);
    expect(error.timeoutMs).toBe(2000);
  });

  test('procFn errors reach the caller; depsFn returning nothing runs procFn with no results', async () => {
    const svc = await startReactor<{ fail: boolean }, string>(
      () => undefined,
      (m, results) => {
        expect(results).toEqual({});
        if (m.value.fail) throw new Error('procFn refused');
        return 'ok';
      },
    );
    const pipeline = await startPipeline();
    await expect(pipeline.request(svc.topic, { fail: false })).resolves.toBe('ok');
    const error = (await pipeline.request(svc.topic, { fail: true }).catch((e: unknown) => e)) as RemoteError;
    expect(error.remote).toEqual({ name: 'Error', message: 'procFn refused' });
  });

  test('fire and forget: send reaches the Reactor, which has no return topic to answer', async () => {
    const svc = await startReactor<{ i: number }, number>(
      () => undefined,
      (m) => m.value.i * 2,
    );
    const pipeline = await startPipeline();
    await pipeline.send(svc.topic, { i: 1 });
    await pipeline.sendBatch(svc.topic, [{ data: { i: 2 }, key: 'k2' }, { data: { i: 3 } }]);
    await waitFor(() => svc.outputs.length === 3, 'three results on the Subject');
    const byInput = svc.outputs.map((o) => [(o.message as ReactorMessage<{ i: number }>).value.i, o.result, o.message.returnTopic]);
    expect(byInput.sort()).toEqual([
      [1, 2, undefined],
      [2, 4, undefined],
      [3, 6, undefined],
    ]);
    expect(svc.outputs.find((o) => o.result === 4)!.message.key).toEqual(Buffer.from('k2'));
  });
});

describe('retries', () => {
  test('a request to a topic that does not exist is not retried: it fails within half a second, naming the topic (issue 13)', async () => {
    const topic = testName('late');
    const pipeline = await startPipeline();
    const started = Date.now();
    await expect(pipeline.request<number>(topic, 20, { timeoutMs: 90000 })).rejects.toBeInstanceOf(UnknownTopicError);
    expect(Date.now() - started).toBeLessThan(5000); // generous: it takes milliseconds (first-hour.test.ts prints them)
    expect(pipeline.retries).toBe(0);
    // Once the topic is there, the same request is answered.
    await createTopics(topic);
    await startService<number, number>((n) => n + 1, { mainTopic: topic });
    await expect(pipeline.request<number>(topic, 20)).resolves.toBe(21);
  });

  test('a remote error is not retried', async () => {
    let calls = 0;
    const svc = await startService<number, number>(() => {
      calls++;
      throw new RangeError('no');
    });
    const pipeline = await startPipeline();
    await expect(pipeline.request(svc.topic, 1)).rejects.toBeInstanceOf(RemoteError);
    expect(calls).toBe(1);
    expect(pipeline.retries).toBe(0);
  });
});
