import { buildPlan, prependResults, runPlan, type DepsMap } from '../../src/dag';
import { parallel, serial, task, toDepsMap } from '../../src/dag/builders';
import { DagValidationError } from '../../src/errors';

const depsOf = (m: DepsMap) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.deps ?? []]));

describe('plans: serial and parallel', () => {
  test('the diamond as a plan is the diamond deps map', () => {
    const deps = toDepsMap(serial(task('a', 'svc.a', [1]), parallel(task('b', 'svc.b'), task('c', 'svc.c')), task('d', 'svc.d')));
    expect(deps).toEqual({
      a: { topic: 'svc.a', args: [1] },
      b: { topic: 'svc.b', args: [], deps: ['a'] },
      c: { topic: 'svc.c', args: [], deps: ['a'] },
      d: { topic: 'svc.d', args: [], deps: ['b', 'c'] },
    });
  });

  test('nesting: serial inside parallel inside serial joins ends to starts', () => {
    const plan = serial(task('start', 't'), parallel(serial(task('x1', 't'), task('x2', 't')), task('y', 't')), task('end', 't'));
    expect(depsOf(toDepsMap(plan))).toEqual({ start: [], x1: ['start'], x2: ['x1'], y: ['start'], end: ['x2', 'y'] });
    expect([plan.entries, plan.exits]).toEqual([['start'], ['end']]);
    expect(buildPlan(toDepsMap(plan)).roots).toEqual(['start']);
  });

  test('a plan runs as its deps map does: results injected, parallel steps at once', async () => {
    const deps = toDepsMap(
      serial(task('a', 'svc', [1]), parallel(task('b', 'svc', [10]), task('c', 'svc', [100], { argIn: prependResults })), task('d', 'svc')),
    );
    const running = new Set<string>();
    let overlapped = false;
    const run = await runPlan(buildPlan(deps), async (node, args) => {
      running.add(node.id);
      if (running.has('b') && running.has('c')) overlapped = true;
      await new Promise((r) => setImmediate(r));
      running.delete(node.id);
      return `${node.id}(${args.join(',')})`;
    });
    expect(run.results).toEqual({ a: 'a(1)', b: 'b(10,a(1))', c: 'c(a(1),100)', d: 'd(b(10,a(1)),c(a(1),100))' });
    expect(overlapped).toBe(true);
  });

  test('options reach the call; a single call is a plan too', () => {
    expect(toDepsMap(task('only', 'svc', ['x'], { replyMode: 'instance' }))).toEqual({ only: { topic: 'svc', args: ['x'], replyMode: 'instance' } });
    expect(toDepsMap(task('nest', 'svc', [], { wire: 'headers', replyMode: undefined }))).toEqual({ nest: { topic: 'svc', args: [], wire: 'headers' } });
    // Only call options are taken: a stray field cannot change the task's topic.
    expect(toDepsMap(task('t', 'svc', [], { topic: 'other' } as never))).toEqual({ t: { topic: 'svc', args: [] } });
  });

  test('mistakes are DagValidationErrors that say what is wrong', () => {
    expect(() => serial(task('a', 't'), task('a', 't'))).toThrow(new DagValidationError('the plan names "a" twice; task names must be unique'));
    const shared = task('s', 't');
    expect(() => parallel(shared, shared)).toThrow('names "s" twice');
    expect(() => serial()).toThrow('serial() needs at least one step');
    expect(() => parallel()).toThrow('parallel() needs at least one step');
    expect(() => task('', 't')).toThrow('a task needs a name');
    expect(() => serial({} as never)).toThrow('every step must be a task(), serial() or parallel()');
    expect(() => toDepsMap(task('a', ''))).toThrow('node "a" has no topic');
  });

  test('building a plan never changes the steps it was built from', () => {
    const b = task('b', 't');
    serial(task('a', 't'), b);
    expect(b.calls.get('b')!.deps).toBeUndefined();
  });
});
