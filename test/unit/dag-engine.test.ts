import {
  appendResults,
  buildPlan,
  DagRunFailure,
  injectArgs,
  prependResults,
  runPlan,
  type CallNode,
  type DepsMap,
  type PlanNode,
  type RunResult,
} from '../../src/dag';
import { DagCycleError, DagRunError, DagValidationError, UnknownDependencyError } from '../../src/errors';

/** A callNode whose calls stay pending until the test settles them: no timers, no sleeps. */
function manualCalls() {
  const pending = new Map<string, { args: unknown[]; signal: AbortSignal; resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const calledOrder: string[] = [];
  const callNode: CallNode = (node: PlanNode, args, signal) =>
    new Promise((resolve, reject) => {
      calledOrder.push(node.id);
      pending.set(node.id, { args, signal, resolve, reject });
      signal.addEventListener('abort', () => reject(signal.reason));
    });
  const flush = () => new Promise((r) => setImmediate(r));
  return {
    callNode,
    calledOrder,
    pending,
    isCalled: (id: string) => pending.has(id),
    async resolve(id: string, value: unknown) {
      pending.get(id)!.resolve(value);
      await flush();
    },
    async reject(id: string, error: unknown) {
      pending.get(id)!.reject(error);
      await flush();
    },
    flush,
  };
}

/** A clock that moves only when told. */
function fakeClock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const diamond: DepsMap = {
  a: { topic: 'ta', args: [1] },
  b: { topic: 'tb', args: [], deps: ['a'] },
  c: { topic: 'tc', args: [], deps: ['a'] },
  d: { topic: 'td', args: [], deps: ['b', 'c'] },
};

describe('buildPlan: validation with errors that say what is wrong', () => {
  test.each([
    [null, 'a deps map must be an object of named calls, got null'],
    [[], 'a deps map must be an object of named calls, got an array'],
    ['add', 'a deps map must be an object of named calls, got string'],
    [42, 'a deps map must be an object of named calls, got number'],
  ])('rejects %p as a deps map', (input, message) => {
    expect(() => buildPlan(input)).toThrow(new DagValidationError(message));
  });

  test.each<[string, unknown, string]>([
    ['a node that is not an object', { x: 'add' }, 'node "x" must be an object with a topic and args, got string'],
    ['a node with no topic', { x: { args: [] } }, 'node "x" has no topic (expected a non-empty string)'],
    ['an empty topic', { x: { topic: '', args: [] } }, 'node "x" has no topic (expected a non-empty string)'],
    ['args that are not an array', { x: { topic: 't', args: 5 } }, 'node "x": args must be an array, got number'],
    ['missing args', { x: { topic: 't' } }, 'node "x": args must be an array, got undefined'],
    ['deps that are not a list of names', { x: { topic: 't', args: [], deps: 'y' } }, 'node "x": deps must be an array of node names'],
    ['deps with a non-string', { x: { topic: 't', args: [], deps: [1] } }, 'node "x": deps must be an array of node names'],
    ['a dep named twice', { y: { topic: 't', args: [] }, x: { topic: 't', args: [], deps: ['y', 'y'] } }, 'node "x": deps name a node twice'],
    ['an argIn that is not a function', { x: { topic: 't', args: [], argIn: 'cons' } }, 'node "x": argIn must be a function, got string'],
    ['an unknown reply mode', { x: { topic: 't', args: [], replyMode: 'shared' } }, `node "x": replyMode must be 'ephemeral' or 'instance', got "shared"`],
    [
      'a codec that is not one',
      { x: { topic: 't', args: [], codec: { contentType: 'application/x' } } },
      'node "x": codec encode and decode must be functions',
    ],
    ['an unknown wire format', { x: { topic: 't', args: [], wire: 'xml' } }, `node "x": wire must be 'envelope' or 'headers', got "xml"`],
    [
      'the envelope with another codec',
      { x: { topic: 't', args: [], wire: 'envelope', codec: { contentType: 'application/msgpack', encode: () => '', decode: () => 1 } } },
      `node "x": wire 'envelope' carries data as JSON inside the JSON envelope; codec application/msgpack needs wire 'headers'`,
    ],
  ])('rejects %s, naming the node', (_what, input, message) => {
    let error: unknown;
    try {
      buildPlan(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DagValidationError);
    expect((error as DagValidationError).message).toBe(message);
    expect((error as DagValidationError).node).toBe('x');
    expect((error as DagValidationError).code).toBe('KF_DAG_INVALID');
  });

  test('an unknown dep is an UnknownDependencyError naming node and dep', () => {
    const error = (() => {
      try {
        return buildPlan({ two: { topic: 't', args: [], deps: ['one'] } });
      } catch (e) {
        return e;
      }
    })() as UnknownDependencyError;
    expect(error).toBeInstanceOf(UnknownDependencyError);
    expect(error.message).toBe('node "two" depends on "one", which is not a node of the deps map');
    expect(error.node).toBe('two');
    expect(error.dependency).toBe('one');
    expect(error.code).toBe('KF_DAG_UNKNOWN_DEP');
  });

  const cycleOf = (deps: unknown) => {
    try {
      buildPlan(deps);
    } catch (e) {
      expect(e).toBeInstanceOf(DagCycleError);
      return e as DagCycleError;
    }
    throw new Error('expected a cycle error');
  };

  test('a cycle names its path, following deps, from its first node in key order', () => {
    const e = cycleOf({ a: { topic: 't', args: [], deps: ['b'] }, b: { topic: 't', args: [], deps: ['c'] }, c: { topic: 't', args: [], deps: ['a'] } });
    expect(e.message).toBe('deps map has a cycle: a -> b -> c -> a');
    expect(e.cycle).toEqual(['a', 'b', 'c', 'a']);
    expect(e.code).toBe('KF_DAG_CYCLE');
  });

  test('a self-loop is a cycle', () => {
    expect(cycleOf({ a: { topic: 't', args: [], deps: ['a'] } }).message).toBe('deps map has a cycle: a -> a');
  });

  test('a cycle away from the first key is found and only its members are named', () => {
    const e = cycleOf({
      root: { topic: 't', args: [] },
      x: { topic: 't', args: [], deps: ['root', 'z'] },
      y: { topic: 't', args: [], deps: ['x'] },
      z: { topic: 't', args: [], deps: ['y'] },
    });
    expect(e.message).toBe('deps map has a cycle: x -> z -> y -> x');
  });

  test('a two-node cycle', () => {
    expect(cycleOf({ p: { topic: 't', args: [], deps: ['q'] }, q: { topic: 't', args: [], deps: ['p'] } }).cycle).toEqual(['p', 'q', 'p']);
  });

  test('a diamond gives a topological order, roots and dependents', () => {
    const plan = buildPlan(diamond);
    expect(plan.order).toEqual(['a', 'b', 'c', 'd']);
    expect(plan.roots).toEqual(['a']);
    expect(plan.nodes.get('a')!.dependents).toEqual(['b', 'c']);
    expect(plan.nodes.get('d')!.deps).toEqual(['b', 'c']);
  });

  test('the order puts every node after its deps, whatever the key order', () => {
    const plan = buildPlan({
      d: { topic: 't', args: [], deps: ['c', 'b'] },
      c: { topic: 't', args: [], deps: ['a'] },
      b: { topic: 't', args: [], deps: ['a'] },
      a: { topic: 't', args: [] },
    });
    const pos = (id: string) => plan.order.indexOf(id);
    expect(plan.order).toHaveLength(4);
    expect(pos('a')).toBeLessThan(pos('b'));
    expect(pos('a')).toBeLessThan(pos('c'));
    expect(pos('b')).toBeLessThan(pos('d'));
    expect(pos('c')).toBeLessThan(pos('d'));
  });

  test('an empty deps map is a valid, empty plan', () => {
    const plan = buildPlan({});
    expect(plan.nodes.size).toBe(0);
    expect(plan.order).toEqual([]);
  });

  test('the plan is a copy: changing the input afterwards changes nothing', () => {
    const input: DepsMap = { a: { topic: 't', args: [1] } };
    const plan = buildPlan(input);
    input.a!.args.push(2);
    expect(plan.nodes.get('a')!.args).toEqual([1]);
    expect(Object.isFrozen(plan.nodes.get('a')!.args)).toBe(true);
  });
});

describe('argIn: injecting dependency results', () => {
  test("fusion-clj's example: one = add [1,2,3] -> 6; two = subtract [2] with prepend sends [6, 2]", () => {
    const plan = buildPlan({ one: { topic: 'add', args: [1, 2, 3] }, two: { topic: 'subtract', args: [2], argIn: prependResults, deps: ['one'] } });
    expect(injectArgs(plan.nodes.get('two')!, new Map([['one', 6]]))).toEqual([6, 2]);
  });

  test('the default appends results in the order of deps (fusion-clj conj)', () => {
    const plan = buildPlan({ x: { topic: 't', args: [] }, y: { topic: 't', args: [] }, z: { topic: 't', args: ['own'], deps: ['y', 'x'] } });
    expect(
      injectArgs(
        plan.nodes.get('z')!,
        new Map<string, unknown>([
          ['x', 'X'],
          ['y', 'Y'],
        ]),
      ),
    ).toEqual(['own', 'Y', 'X']);
    expect(appendResults([1], [2, 3])).toEqual([1, 2, 3]);
    expect(prependResults([1], [2, 3])).toEqual([2, 3, 1]);
  });

  test('a custom argIn gets a copy of args and the results; it must return an array', () => {
    const plan = buildPlan({
      x: { topic: 't', args: [] },
      ok: { topic: 't', args: [10], deps: ['x'], argIn: (args: readonly unknown[], r: readonly unknown[]) => [{ base: args[0], x: r[0] }] },
      bad: { topic: 't', args: [], deps: ['x'], argIn: () => 'nope' as unknown as unknown[] },
    });
    const results = new Map([['x', 5]]);
    expect(injectArgs(plan.nodes.get('ok')!, results)).toEqual([{ base: 10, x: 5 }]);
    expect(() => injectArgs(plan.nodes.get('bad')!, results)).toThrow('node "bad": argIn must return an array, got string');
  });
});

describe('runPlan: ready sets, parallelism, failure', () => {
  test('diamond: b and c are both called before either finishes; d only after both', async () => {
    const calls = manualCalls();
    const run = runPlan(buildPlan(diamond), calls.callNode);
    await calls.flush();
    expect(calls.calledOrder).toEqual(['a']);
    await calls.resolve('a', 'A');
    expect(calls.calledOrder).toEqual(['a', 'b', 'c']); // in parallel: neither has finished
    await calls.resolve('c', 'C');
    expect(calls.isCalled('d')).toBe(false); // waits for b too
    await calls.resolve('b', 'B');
    expect(calls.pending.get('d')!.args).toEqual(['B', 'C']); // deps order, not completion order
    await calls.resolve('d', 'D');
    const result = await run;
    expect(result.results).toEqual({ a: 'A', b: 'B', c: 'C', d: 'D' });
    expect(result.outcomes.d).toMatchObject({ id: 'd', topic: 'td', status: 'done', args: ['B', 'C'], result: 'D' });
  });

  test('independent roots all start at once', async () => {
    const calls = manualCalls();
    const run = runPlan(buildPlan({ x: { topic: 't', args: [] }, y: { topic: 't', args: [] }, z: { topic: 't', args: [] } }), calls.callNode);
    await calls.flush();
    expect(calls.calledOrder).toEqual(['x', 'y', 'z']);
    for (const id of ['z', 'x', 'y']) await calls.resolve(id, id);
    await expect(run).resolves.toMatchObject({ results: { x: 'x', y: 'y', z: 'z' } });
  });

  test("timings: wall time follows the longest path, each node's start and end are recorded", async () => {
    const calls = manualCalls();
    const clock = fakeClock();
    const run = runPlan(buildPlan(diamond), calls.callNode, { now: clock.now });
    await calls.flush();
    clock.advance(10);
    await calls.resolve('a', 1); // a: 1000..1010
    clock.advance(30);
    await calls.resolve('b', 2); // b: 1010..1040
    clock.advance(20);
    await calls.resolve('c', 3); // c: 1010..1060
    clock.advance(5);
    await calls.resolve('d', 4); // d: 1060..1065
    const r = await run;
    expect(r.outcomes.a).toMatchObject({ startedAt: 1000, finishedAt: 1010 });
    expect(r.outcomes.b).toMatchObject({ startedAt: 1010, finishedAt: 1040 });
    expect(r.outcomes.c).toMatchObject({ startedAt: 1010, finishedAt: 1060 });
    expect(r.outcomes.d).toMatchObject({ startedAt: 1060, finishedAt: 1065 });
    expect(r.finishedAt - r.startedAt).toBe(65); // a + max(b, c) + d, not the sum 10+30+50+5
  });

  test('fail fast: the first failure aborts calls in flight, skips the rest, rejects naming the node', async () => {
    const calls = manualCalls();
    const settled = runPlan(buildPlan(diamond), calls.callNode).catch((e: unknown) => e);
    await calls.flush();
    await calls.resolve('a', 'A');
    const boom = new Error('b broke');
    await calls.reject('b', boom);
    expect(calls.pending.get('c')!.signal.aborted).toBe(true);
    const error = (await settled) as DagRunFailure;
    expect(error).toBeInstanceOf(DagRunFailure);
    expect(error).toBeInstanceOf(DagRunError);
    expect(error.node).toBe('b');
    expect(error.cause).toBe(boom);
    expect(error.message).toBe('node "b" failed: Error: b broke');
    expect(error.outcomes.a!.status).toBe('done');
    expect(error.outcomes.b!.status).toBe('failed');
    expect(error.outcomes.c!.status).toBe('failed'); // aborted in flight
    expect(error.outcomes.d!.status).toBe('skipped');
    expect(calls.isCalled('d')).toBe(false);
  });

  test('onSettled is told the run as it ended, failed or done: what each node did, the results of those done', async () => {
    const seen: RunResult[] = [];
    const calls = manualCalls();
    const settled = runPlan(buildPlan(diamond), calls.callNode, { onSettled: (r) => seen.push(r) }).catch((e: unknown) => e);
    await calls.flush();
    await calls.resolve('a', 'A');
    await calls.reject('b', new Error('b broke'));
    await calls.reject('c', new Error('aborted'));
    expect(await settled).toBeInstanceOf(DagRunFailure);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.results).toEqual({ a: 'A' });
    expect(Object.values(seen[0]!.outcomes).map((o) => o.status)).toEqual(['done', 'failed', 'failed', 'skipped']);
    expect(seen[0]!.finishedAt).toBeGreaterThanOrEqual(seen[0]!.startedAt);

    const ok = await runPlan(buildPlan({ x: { topic: 't', args: [] } }), async () => 1, { onSettled: (r) => seen.push(r) });
    expect(seen[1]).toBe(ok);
    await runPlan(buildPlan({}), async () => 1, { onSettled: (r) => seen.push(r) });
    expect(seen).toHaveLength(3);
    // A callback that throws rejects the run with its error.
    await expect(
      runPlan(buildPlan({ x: { topic: 't', args: [] } }), async () => 1, {
        onSettled: () => {
          throw new RangeError('bad hook');
        },
      }),
    ).rejects.toThrow(new RangeError('bad hook'));
  });

  test('a callNode that throws synchronously fails its node', async () => {
    const r = runPlan(buildPlan({ x: { topic: 't', args: [] } }), () => {
      throw new TypeError('sync');
    });
    await expect(r).rejects.toMatchObject({ node: 'x', message: 'node "x" failed: TypeError: sync' });
  });

  test('a bad argIn fails its node at run time', async () => {
    const plan = buildPlan({ x: { topic: 't', args: [] }, y: { topic: 't', args: [], deps: ['x'], argIn: () => null as unknown as unknown[] } });
    await expect(runPlan(plan, async () => 1)).rejects.toMatchObject({ node: 'y', message: expect.stringContaining('argIn must return an array') });
  });

  test('an outside abort stops the run with its reason', async () => {
    const calls = manualCalls();
    const outside = new AbortController();
    const settled = runPlan(buildPlan(diamond), calls.callNode, { signal: outside.signal }).catch((e: unknown) => e);
    await calls.flush();
    const reason = new Error('shutting down');
    outside.abort(reason);
    expect(await settled).toBe(reason);
    expect(calls.pending.get('a')!.signal.aborted).toBe(true);
  });

  test('an already aborted signal runs nothing', async () => {
    const outside = new AbortController();
    outside.abort('stop');
    const callNode = jest.fn(async () => 1);
    await expect(runPlan(buildPlan(diamond), callNode, { signal: outside.signal })).rejects.toThrow('run aborted before it started: stop');
    expect(callNode).not.toHaveBeenCalled();
  });

  test("fusion-clj's numbers end to end with real arithmetic", async () => {
    const services: Record<string, (xs: number[]) => number> = {
      add: (xs) => xs.reduce((a, b) => a + b, 0),
      subtract: (xs) => xs.slice(1).reduce((a, b) => a - b, xs[0]!),
    };
    const plan = buildPlan({ one: { topic: 'add', args: [1, 2, 3] }, two: { topic: 'subtract', args: [2], argIn: prependResults, deps: ['one'] } });
    const r = await runPlan(plan, async (node, args) => services[node.topic]!(args as number[]));
    expect(r.results).toEqual({ one: 6, two: 4 });
    expect(r.outcomes.two!.args).toEqual([6, 2]);
  });

  test('an empty plan resolves at once; a plan runs the same twice (no state kept in it)', async () => {
    await expect(runPlan(buildPlan({}), async () => 1)).resolves.toMatchObject({ results: {}, outcomes: {} });
    const plan = buildPlan(diamond);
    const echo: CallNode = async (node, args) => `${node.id}(${args.join(',')})`;
    const first = await runPlan(plan, echo);
    const second = await runPlan(plan, echo);
    expect(second.results).toEqual(first.results);
    expect(first.results.d).toBe('d(b(a(1)),c(a(1)))');
  });
});
