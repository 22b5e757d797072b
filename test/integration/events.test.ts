/**
 * A Reactor's events: what a user can hook metrics and logs on, with
 * durations; a listener that throws never disturbs processing.
 */
import type { DepsMap } from '../../src/dag';
import type { ReactorEvents } from '../../src/reactor/events';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

test('received, planned, callSent, callDone / callFailed, done and deadLettered, in order, with durations', async () => {
  const ok = await startService<unknown[], string>(() => 'fine');
  const bad = await startService<unknown[], string>(() => {
    throw new RangeError('no');
  });
  const errors: unknown[] = [];
  const orchestrator = await startReactor<string, unknown>(
    (m): DepsMap =>
      m.value === 'both'
        ? { good: { topic: ok.topic, args: [] }, broken: { topic: bad.topic, args: [], deps: ['good'] } }
        : { good: { topic: ok.topic, args: [] } },
    (_m, r) => r,
    { onError: (e) => errors.push(e) },
  );
  const seen: [keyof ReactorEvents, Record<string, unknown>][] = [];
  for (const name of ['received', 'planned', 'callSent', 'callDone', 'callFailed', 'callRetried', 'done', 'deadLettered'] as const) {
    orchestrator.els.on(name, (e) => seen.push([name, e as unknown as Record<string, unknown>]));
  }
  const off = orchestrator.els.on('done', () => {
    throw new Error('a listener that throws');
  });
  const pipeline = await startPipeline();

  await expect(pipeline.request(orchestrator.topic, 'one')).resolves.toEqual({ good: 'fine' });
  await waitFor(() => seen.some(([n]) => n === 'done'), 'the first done');
  expect(seen.map(([n]) => n)).toEqual(['received', 'planned', 'callSent', 'callDone', 'done']);
  expect(seen[1]![1]).toMatchObject({ topic: orchestrator.topic, nodes: ['good'] });
  expect(seen[3]![1]).toMatchObject({ node: 'good', topic: ok.topic, durationMs: expect.any(Number) });
  expect(errors).toEqual([new Error('a listener that throws')]); // reported, and the reply went out anyway
  off();

  seen.length = 0;
  await expect(pipeline.request(orchestrator.topic, 'both')).rejects.toThrow('node "broken"');
  await waitFor(() => seen.some(([n]) => n === 'done'), 'the second done');
  expect(seen.map(([n]) => n)).toEqual(['received', 'planned', 'callSent', 'callDone', 'callSent', 'callFailed', 'done']);
  expect(seen[5]![1]).toMatchObject({ node: 'broken', topic: bad.topic });
  expect((seen[6]![1].error as Error).message).toContain('RangeError: no');

  seen.length = 0;
  await withRaw(({ producers }) => producers.send(orchestrator.topic, [{ value: 'not json' }]));
  await waitFor(() => seen.some(([n]) => n === 'deadLettered'), 'the dead letter');
  expect(seen.map(([n]) => n)).toEqual(['received', 'deadLettered']);
  expect(seen[1]![1].reason).toContain('request is not JSON');
  expect(errors).toHaveLength(1);
});
