/**
 * An OpenTelemetry SDK set up as an application would (the library itself
 * depends on @opentelemetry/api alone): spans kept in memory, W3C trace
 * context, async-local context, and a meter provider read on demand.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

class OnDemandReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface Otel {
  spans: () => ReadableSpan[];
  /** Data points of one metric, by name. */
  points: <T = number>(name: string) => Promise<DataPoint<T>[]>;
  histogram: (name: string) => Promise<DataPoint<Histogram>[]>;
  close: () => Promise<void>;
}

export function installOtel(): Otel {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  const points = async <T>(name: string): Promise<DataPoint<T>[]> => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as DataPoint<T>[]);
  };
  return {
    spans: () => exporter.getFinishedSpans(),
    points,
    histogram: (name) => points<Histogram>(name),
    close: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      propagation.disable();
      metrics.disable();
      context.disable();
    },
  };
}
