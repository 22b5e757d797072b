/**
 * `kafka-fusion/telemetry`: the shapes of metrics snapshots, call timings,
 * partition positions and event payloads, for code that stores or forwards
 * them.
 *
 * @packageDocumentation
 * @module kafka-fusion/telemetry
 */
export { LATENCY_BUCKETS_MS } from '../telemetry/metrics';
export type { MetricsSnapshot, HistogramSnapshot } from '../telemetry/metrics';
export type { ReactorEventName, ReactorListener, MessageRef, CallRef } from '../reactor/events';
export type { PipelineCallRef } from '../pipeline/pipeline';
export type { PartitionPosition } from '../reactor/reactor';
export type { CallTimings } from '../calls/calls';
export type { CallEvents, Listener } from '../events';
