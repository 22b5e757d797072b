/**
 * Instrumentation on the real broker, with an OpenTelemetry SDK set up as an
 * application would: one trace covers Pipeline -> Reactor -> each
 * dependency (W3C traceparent in Kafka headers), failures mark their spans,
 * and counters and histograms reach both the meter provider and metrics().
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { DepsMap } from '../../src/dag';
import { RemoteError } from '../../src/errors';
import type { PipelineEvents } from '../../src/pipeline/pipeline';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { texts } from '../helpers/bytes';
import { installOtel, type Otel } from '../helpers/otel';
import { waitFor } from '../helpers/wait';

let otel: Otel;
beforeAll(() => (otel = installOtel()));
afterAll(() => otel.close());
afterEach(closeAllAndCheckTopics);

const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

async function startDag() {
  const headersAtB: Record<string, string>[] = [];
  const a = await startService<unknown[], string>(() => 'a');
  const b = await startReactor<unknown[], string>(
    () => undefined,
    (m) => (headersAtB.push(texts(m.headers)), 'b'),
  );
  const failing = await startService<unknown[], string>(() => {
    throw new RangeError('no such thing');
  });
  const orchestrator = await startReactor<string, unknown>(
    (m): DepsMap =>
      m.value === 'fail'
        ? { bad: { topic: failing.topic, args: [] } }
        : { a: { topic: a.topic, args: [] }, b: { topic: b.topic, args: [], replyMode: 'instance' }, c: { topic: a.topic, args: [], deps: ['a'] } },
    (_m, r) => {
      trace.getTracer('test').startActiveSpan('user work', (s) => s.end());
      return r;
    },
  );
  return { a, b, failing, orchestrator, headersAtB };
}

test('one trace covers Pipeline -> Reactor -> each dependency, each span the child of the hop that caused it', async () => {
  const { a, b, orchestrator, headersAtB } = await startDag();
  const pipeline = await startPipeline();
  const before = otel.spans().length;
  await trace.getTracer('test').startActiveSpan('GET /calc', async (root) => {
    await expect(pipeline.request(orchestrator.topic, 'go')).resolves.toEqual({ a: 'a', b: 'b', c: 'a' });
    root.end();
  });
  // root, the request, the orchestrator's process, its 3 calls, 3 services' process, the user's span
  await waitFor(() => otel.spans().length - before >= 10, 'the spans of the request');
  const spans = otel.spans().slice(before);
  const root = spans.find((s) => s.name === 'GET /calc')!;
  expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([root.spanContext().traceId]));

  const request = spans.find((s) => s.name === `request ${orchestrator.topic}`)!;
  expect(request).toMatchObject({ kind: SpanKind.CLIENT });
  expect(parentOf(request)).toBe(idOf(root));
  expect(request.attributes).toMatchObject({
    'messaging.system': 'kafka',
    'messaging.destination.name': orchestrator.topic,
    'messaging.message.conversation_id': expect.any(String),
  });

  const processing = spans.find((s) => s.name === `process ${orchestrator.topic}`)!;
  expect(processing).toMatchObject({ kind: SpanKind.CONSUMER });
  expect(parentOf(processing)).toBe(idOf(request));
  expect(processing.attributes).toMatchObject({ 'messaging.consumer.group.name': orchestrator.els.options.groupId, 'messaging.kafka.offset': 0 });

  const calls = spans.filter((s) => s.kind === SpanKind.CLIENT && parentOf(s) === idOf(processing));
  expect(calls.map((s) => [s.attributes['kafka_fusion.node'], s.name]).sort()).toEqual([
    ['a', `request ${a.topic}`],
    ['b', `request ${b.topic}`],
    ['c', `request ${a.topic}`],
  ]);
  for (const call of calls) {
    const served = spans.filter((s) => s.kind === SpanKind.CONSUMER && parentOf(s) === idOf(call));
    expect(served.map((s) => s.name)).toEqual([`process ${call.attributes['messaging.destination.name']}`]);
  }
  // On the wire: the request to b carried b's call span as its W3C parent.
  const callB = calls.find((s) => s.attributes['kafka_fusion.node'] === 'b')!;
  expect(headersAtB[0]!.traceparent).toBe(`00-${root.spanContext().traceId}-${idOf(callB)}-01`);
  // depsFn's and procFn's own spans nest under the message's.
  expect(parentOf(spans.find((s) => s.name === 'user work')!)).toBe(idOf(processing));
  expect(spans.every((s) => s.status.code !== SpanStatusCode.ERROR)).toBe(true);
});

test('a failed call marks its spans ERROR; calls, failures, latency and in-flight counts reach the meter provider and metrics()', async () => {
  const { orchestrator } = await startDag();
  // Why a call was tried again, if one was: shown when the count below is not 0.
  const retriedBecause: string[] = [];
  orchestrator.els.on('callRetried', (e) => retriedBecause.push(`${e.node}: ${String(e.error)}`));
  const pipeline = await startPipeline();
  const events: [keyof PipelineEvents, unknown][] = [];
  for (const name of ['callSent', 'callDone', 'callFailed', 'callRetried', 'sent'] as const) pipeline.on(name, (e) => events.push([name, e]));
  const before = otel.spans().length;

  for (let i = 0; i < 3; i++) await pipeline.request(orchestrator.topic, 'go');
  const error = await pipeline.request(orchestrator.topic, 'fail').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RemoteError);
  await pipeline.send(orchestrator.topic, 'fire and forget');
  await waitFor(
    () => orchestrator.els.metrics().messages.received === 5 && orchestrator.els.metrics().inFlight.messages === 0,
    'the orchestrator done with all 5 messages',
  );

  // Spans of the failure.
  await waitFor(
    () =>
      otel
        .spans()
        .slice(before)
        .some((s) => s.name === `process ${orchestrator.topic}` && s.status.code === SpanStatusCode.ERROR),
    'the failed message span',
  );
  const spans = otel.spans().slice(before);
  const failedCall = spans.find((s) => s.attributes['kafka_fusion.node'] === 'bad')!;
  expect(failedCall.status).toMatchObject({ code: SpanStatusCode.ERROR, message: expect.stringContaining('RangeError: no such thing') });
  expect(failedCall.events.map((e) => e.name)).toContain('exception');
  expect(spans.filter((s) => s.name === `request ${orchestrator.topic}` && s.status.code === SpanStatusCode.ERROR)).toHaveLength(1);
  expect(spans.filter((s) => s.name === `send ${orchestrator.topic}` && s.kind === SpanKind.PRODUCER)).toHaveLength(1);

  // metrics(): plain data.
  const m = orchestrator.els.metrics();
  // 4 DAGs of 3 calls (the fire-and-forget message runs one too) and one of 1.
  expect({ ...m.calls, retriedBecause }).toEqual({ sent: 13, ok: 12, failed: 1, timedOut: 0, retried: 0, retriedBecause: [] });
  expect(m.messages).toEqual({ received: 5, ok: 4, failed: 1, deadLettered: 0, expired: 0 });
  expect(m.inFlight).toEqual({ messages: 0, calls: 0 });
  expect(m.latency.callMs.count).toBe(13);
  expect(m.latency.callMs.buckets.at(-1)).toEqual({ le: Infinity, count: 13 });
  expect(m.latency.callMs.p50).toBeGreaterThan(0);
  expect(m.latency.callMs.p99).toBeLessThanOrEqual(m.latency.callMs.max);
  expect(pipeline.metrics().calls).toEqual({ sent: 4, ok: 3, failed: 1, timedOut: 0, retried: 0 });
  expect(pipeline.metrics().messages.received).toBe(0);
  expect(events.map(([n]) => n)).toEqual(['callSent', 'callDone', 'callSent', 'callDone', 'callSent', 'callDone', 'callSent', 'callFailed', 'sent']);
  expect(events[1]![1]).toMatchObject({ topic: orchestrator.topic, durationMs: expect.any(Number) });

  // The same figures through OpenTelemetry.
  const caller = (name: string) => (p: { attributes: Record<string, unknown> }) => p.attributes['kafka_fusion.caller'] === name;
  const byOutcome = (points: { attributes: Record<string, unknown>; value: number }[]) => {
    const sums: Record<string, number> = {};
    for (const p of points) sums[String(p.attributes['kafka_fusion.outcome'])] = (sums[String(p.attributes['kafka_fusion.outcome'])] ?? 0) + p.value;
    return sums;
  };
  const calls = (await otel.points('kafka_fusion.calls')).filter(caller(orchestrator.topic));
  expect(byOutcome(calls)).toEqual({ ok: 12, error: 1 });
  expect(new Set(calls.map((p) => p.attributes['messaging.destination.name'])).size).toBe(3); // a, b and the failing service
  const durations = (await otel.histogram('kafka_fusion.call.duration')).filter(caller(orchestrator.topic));
  expect(durations.reduce((n, p) => n + p.value.count, 0)).toBe(13);
  expect(durations[0]!.value.buckets.boundaries[0]).toBe(0.001); // seconds
  const inFlight = (await otel.points('kafka_fusion.calls.in_flight')).filter(caller(orchestrator.topic));
  expect(inFlight.map((p) => p.value)).toEqual([0]);
  const messages = (await otel.points('kafka_fusion.messages')).filter((p) => p.attributes['messaging.destination.name'] === orchestrator.topic);
  expect(byOutcome(messages)).toEqual({ ok: 4, failed: 1 });
  const requests = (await otel.points('kafka_fusion.calls')).filter(
    (p) => caller('pipeline')(p) && p.attributes['messaging.destination.name'] === orchestrator.topic,
  );
  expect(byOutcome(requests)).toEqual({ ok: 3, error: 1 });
});
