/**
 * Counters and histograms of a Reactor or a Pipeline: kept here, read with
 * `metrics()` (plain data, ready to export), and recorded at the same time on
 * OpenTelemetry instruments of the application's meter provider, if it has
 * one (`@opentelemetry/api`'s global; no-op otherwise).
 *
 * OpenTelemetry instruments (durations in seconds, as its conventions ask):
 *
 * | name | kind | attributes |
 * |---|---|---|
 * | `kafka_fusion.calls` | counter | caller, topic, outcome |
 * | `kafka_fusion.call.duration` | histogram (s) | caller, topic, outcome |
 * | `kafka_fusion.call.retries` | counter | caller, topic |
 * | `kafka_fusion.calls.in_flight` | up-down counter | caller |
 * | `kafka_fusion.messages` | counter | topic, group, outcome |
 * | `kafka_fusion.message.duration` | histogram (s) | topic, group, outcome |
 * | `kafka_fusion.messages.in_flight` | up-down counter | topic, group |
 *
 * `caller` (`kafka_fusion.caller`) is `pipeline` or the Reactor's main
 * topic; `topic` is `messaging.destination.name` (the called service's, or
 * the Reactor's main topic), `group` `messaging.consumer.group.name`.
 */
import type * as Otel from '@opentelemetry/api';
import { CallTimeoutError } from '../errors';
import { otelApi, VERSION } from './otel';

/*
 * Fixed buckets rather than hdr-histogram-js (which the bench uses): constant
 * memory, no dependency for the library (hdr-histogram-js brings a wasm build
 * and pako), and buckets are what Prometheus and OpenTelemetry export; the
 * quantiles are estimates within a bucket, which the bench does not rely on.
 */

/** Upper bounds (ms) of the latency buckets; a last one takes the rest. */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000] as const;

/** A latency histogram as read: counts, sum, extremes, cumulative buckets, estimated quantiles (all in ms). */
export interface HistogramSnapshot {
  count: number;
  /** Sum of the values, ms. */
  sum: number;
  /** Smallest and largest value seen (0 when none). */
  min: number;
  max: number;
  /** Cumulative counts: values <= `le` ms, the last bucket's `le` is Infinity (Prometheus' form). */
  buckets: { le: number; count: number }[];
  /** Quantiles estimated from the buckets (linear within a bucket, within min..max); 0 when empty. */
  p50: number;
  p90: number;
  p99: number;
}

/** Latencies in fixed buckets: constant memory, mergeable, what Prometheus and OpenTelemetry export. */
export class Histogram {
  private readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  record(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += ms;
    this.min = Math.min(this.min, ms);
    this.max = Math.max(this.max, ms);
  }

  private quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let below = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const n = this.counts[i]!;
      if (n > 0 && below + n >= rank) {
        const lo = Math.max(i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!, this.min);
        const hi = Math.min(i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! : this.max, this.max);
        return lo + (hi - lo) * ((rank - below) / n);
      }
      below += n;
    }
    return this.max;
  }

  snapshot(): HistogramSnapshot {
    let cumulative = 0;
    const buckets = this.counts.map((n, i) => ({ le: i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! : Infinity, count: (cumulative += n) }));
    const empty = this.count === 0;
    return {
      count: this.count,
      sum: this.sum,
      min: empty ? 0 : this.min,
      max: empty ? 0 : this.max,
      buckets,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
    };
  }
}

/** How a call ended. */
export type CallOutcomeName = 'ok' | 'timeout' | 'error';

/** How a message ended. */
export type MessageOutcomeName = 'ok' | 'failed' | 'dead_lettered' | 'expired';

/** What `metrics()` returns. A Pipeline has no messages: its message counts stay 0. */
export interface MetricsSnapshot {
  inFlight: {
    /** Main-topic messages being processed. */
    messages: number;
    /** Calls waiting for their reply. */
    calls: number;
  };
  messages: {
    /** Read from the main topic. */
    received: number;
    /** Answered with a result (or done, with nobody to answer). */
    ok: number;
    /** Answered with an error. */
    failed: number;
    /** Written to the dead-letter topic (its caller, if any, told of the error). */
    deadLettered: number;
    /** Not started, or not answered, because the caller's deadline had passed. */
    expired: number;
  };
  calls: {
    sent: number;
    ok: number;
    /** All failures, timeouts included. */
    failed: number;
    timedOut: number;
    /** Attempts made again after a transient failure. */
    retried: number;
  };
  latency: {
    /** Reading a message to its reply. */
    messageMs: HistogramSnapshot;
    /** A call's request to its reply (or failure), retries included. */
    callMs: HistogramSnapshot;
  };
}

export function callOutcomeOf(error: unknown): CallOutcomeName {
  return error instanceof CallTimeoutError ? 'timeout' : 'error';
}

interface Instruments {
  calls: Otel.Counter;
  callDuration: Otel.Histogram;
  retries: Otel.Counter;
  callsInFlight: Otel.UpDownCounter;
  messages: Otel.Counter;
  messageDuration: Otel.Histogram;
  messagesInFlight: Otel.UpDownCounter;
}

const SECONDS_BUCKETS = LATENCY_BUCKETS_MS.map((ms) => ms / 1000);

function instruments(api: NonNullable<ReturnType<typeof otelApi>>): Instruments {
  const meter = api.metrics.getMeter('kafka-fusion', VERSION);
  const advice = { explicitBucketBoundaries: SECONDS_BUCKETS };
  return {
    calls: meter.createCounter('kafka_fusion.calls', { description: 'Request/reply calls made, by outcome' }),
    callDuration: meter.createHistogram('kafka_fusion.call.duration', {
      unit: 's',
      description: "A call's request to its reply or failure, retries included",
      advice,
    }),
    retries: meter.createCounter('kafka_fusion.call.retries', { description: 'Attempts made again after a transient failure' }),
    callsInFlight: meter.createUpDownCounter('kafka_fusion.calls.in_flight', { description: 'Calls waiting for their reply' }),
    messages: meter.createCounter('kafka_fusion.messages', { description: 'Main-topic messages processed, by outcome' }),
    messageDuration: meter.createHistogram('kafka_fusion.message.duration', { unit: 's', description: 'Reading a message to its reply', advice }),
    messagesInFlight: meter.createUpDownCounter('kafka_fusion.messages.in_flight', { description: 'Main-topic messages being processed' }),
  };
}

/** One Reactor's or Pipeline's counters. */
export class Metrics {
  private readonly state: Omit<MetricsSnapshot, 'latency'> = {
    inFlight: { messages: 0, calls: 0 },
    messages: { received: 0, ok: 0, failed: 0, deadLettered: 0, expired: 0 },
    calls: { sent: 0, ok: 0, failed: 0, timedOut: 0, retried: 0 },
  };
  private readonly messageMs = new Histogram();
  private readonly callMs = new Histogram();
  private otel: Instruments | undefined;
  private readonly consumerAttributes: Otel.Attributes;

  constructor(
    /** `pipeline`, or a Reactor's main topic. */
    private readonly caller: string,
    consumer?: { topic: string; group: string },
  ) {
    this.consumerAttributes = consumer ? { 'messaging.destination.name': consumer.topic, 'messaging.consumer.group.name': consumer.group } : {};
  }

  /** Create the OpenTelemetry instruments, from the meter provider registered by now (call at start). */
  attach(): void {
    const api = otelApi();
    this.otel ??= api ? instruments(api) : undefined;
  }

  callStarted(): void {
    this.state.calls.sent++;
    this.state.inFlight.calls++;
    this.otel?.callsInFlight.add(1, { 'kafka_fusion.caller': this.caller });
  }

  callRetried(topic: string): void {
    this.state.calls.retried++;
    this.otel?.retries.add(1, { 'kafka_fusion.caller': this.caller, 'messaging.destination.name': topic });
  }

  callEnded(topic: string, outcome: CallOutcomeName, ms: number): void {
    const c = this.state.calls;
    c.ok += outcome === 'ok' ? 1 : 0;
    c.failed += outcome === 'ok' ? 0 : 1;
    c.timedOut += outcome === 'timeout' ? 1 : 0;
    this.state.inFlight.calls--;
    this.callMs.record(ms);
    if (this.otel) {
      const attributes = { 'kafka_fusion.caller': this.caller, 'messaging.destination.name': topic, 'kafka_fusion.outcome': outcome };
      this.otel.calls.add(1, attributes);
      this.otel.callDuration.record(ms / 1000, attributes);
      this.otel.callsInFlight.add(-1, { 'kafka_fusion.caller': this.caller });
    }
  }

  messageStarted(): void {
    this.state.messages.received++;
    this.state.inFlight.messages++;
    this.otel?.messagesInFlight.add(1, this.consumerAttributes);
  }

  messageEnded(outcome: MessageOutcomeName, ms: number): void {
    const m = this.state.messages;
    if (outcome === 'dead_lettered') m.deadLettered++;
    else m[outcome]++;
    this.state.inFlight.messages--;
    this.messageMs.record(ms);
    if (this.otel) {
      const attributes = { ...this.consumerAttributes, 'kafka_fusion.outcome': outcome };
      this.otel.messages.add(1, attributes);
      this.otel.messageDuration.record(ms / 1000, attributes);
      this.otel.messagesInFlight.add(-1, this.consumerAttributes);
    }
  }

  snapshot(): MetricsSnapshot {
    const s = this.state;
    return {
      inFlight: { ...s.inFlight },
      messages: { ...s.messages },
      calls: { ...s.calls },
      latency: { messageMs: this.messageMs.snapshot(), callMs: this.callMs.snapshot() },
    };
  }
}
