/**
 * Telemetry without a broker: latency histograms, the metrics snapshot, and
 * tracing when the application has no OpenTelemetry (the API is an
 * optional peer dependency) or has the API with no SDK.
 */
import { Histogram, LATENCY_BUCKETS_MS, Metrics } from '../../src/telemetry/metrics';
import { CallTimeoutError } from '../../src/errors';
import { callOutcomeOf } from '../../src/telemetry/metrics';

describe('Histogram', () => {
  test('an empty histogram is all zeros, with every bucket present', () => {
    const s = new Histogram().snapshot();
    expect(s).toMatchObject({ count: 0, sum: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 });
    expect(s.buckets.map((b) => b.le)).toEqual([...LATENCY_BUCKETS_MS, Infinity]);
    expect(s.buckets.every((b) => b.count === 0)).toBe(true);
  });

  test('cumulative buckets (a value on a bound counts in it), sum, min, max', () => {
    const h = new Histogram();
    for (const ms of [0.5, 1, 3, 10, 70000]) h.record(ms);
    const s = h.snapshot();
    const at = (le: number) => s.buckets.find((b) => b.le === le)!.count;
    expect([at(1), at(2), at(5), at(10), at(60000), at(Infinity)]).toEqual([2, 2, 3, 4, 4, 5]);
    expect(s).toMatchObject({ count: 5, sum: 70014.5, min: 0.5, max: 70000 });
  });

  test('quantiles interpolate within their bucket and stay within min..max', () => {
    const h = new Histogram();
    for (let i = 0; i < 100; i++) h.record(30 + (i % 10)); // all in the (25, 50] bucket, 30..39
    const s = h.snapshot();
    expect(s.p50).toBeCloseTo(34.5, 5); // halfway from min 30 to max 39
    expect(s.p99).toBeLessThanOrEqual(39);
    expect(s.p50).toBeGreaterThanOrEqual(30);
    const one = new Histogram();
    one.record(7);
    expect(one.snapshot()).toMatchObject({ p50: 7, p99: 7 });
  });
});

describe('Metrics', () => {
  test('calls and messages: counted by outcome, in flight while they run, latencies recorded', () => {
    const m = new Metrics('orders');
    m.attach(); // the API without an SDK: instruments are no-ops
    m.callStarted();
    m.callStarted();
    expect(m.snapshot().inFlight.calls).toBe(2);
    m.callRetried('svc');
    m.callEnded('svc', 'ok', 12);
    m.callEnded('svc', callOutcomeOf(new CallTimeoutError({ topic: 'svc', timeoutMs: 5 })), 5);
    m.messageStarted();
    m.messageEnded('dead_lettered', 3);
    m.messageStarted();
    m.messageEnded('expired', 0);
    const s = m.snapshot();
    expect(s.calls).toEqual({ sent: 2, ok: 1, failed: 1, timedOut: 1, retried: 1 });
    expect(s.messages).toEqual({ received: 2, ok: 0, failed: 0, deadLettered: 1, expired: 1 });
    expect(s.inFlight).toEqual({ messages: 0, calls: 0 });
    expect(s.latency.callMs).toMatchObject({ count: 2, sum: 17 });
    expect(callOutcomeOf(new Error('x'))).toBe('error');
    // A snapshot is a copy.
    s.calls.sent = 99;
    expect(m.snapshot().calls.sent).toBe(2);
  });
});

describe('tracing', () => {
  test('with the API and no SDK registered: spans are no-ops, no trace header is written, user code runs', async () => {
    const { TraceSpan } = await import('../../src/telemetry/trace');
    const span = TraceSpan.start('request t', 'client', () => ({ a: 1 }), { headers: { traceparent: 'not-one' } });
    expect(span.inject({ tenant: 't' })).toEqual({ tenant: 't' });
    expect(span.with(() => 42)).toBe(42);
    span.addEvent('e');
    span.end(new Error('recorded nowhere'));
  });

  test('without @opentelemetry/api installed: nothing is traced, nothing fails, metrics still count', () => {
    jest.isolateModules(() => {
      jest.doMock('@opentelemetry/api', () => {
        throw new Error("Cannot find module '@opentelemetry/api'");
      });
      const { otelApi } = require('../../src/telemetry/otel') as typeof import('../../src/telemetry/otel');
      const { TraceSpan } = require('../../src/telemetry/trace') as typeof import('../../src/telemetry/trace');
      const metrics = require('../../src/telemetry/metrics') as typeof import('../../src/telemetry/metrics');
      expect(otelApi()).toBeNull();
      const headers = { tenant: 't' };
      const span = TraceSpan.start('process t', 'consumer', () => ({}), 'active');
      expect(span.inject(headers)).toBe(headers);
      expect(span.with(() => 'ran')).toBe('ran');
      span.end(new Error('no-op'));
      const m = new metrics.Metrics('pipeline');
      m.attach();
      m.callStarted();
      m.callEnded('t', 'ok', 1);
      expect(m.snapshot().calls.ok).toBe(1);
    });
    jest.dontMock('@opentelemetry/api');
  });
});
