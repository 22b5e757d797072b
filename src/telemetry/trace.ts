/**
 * OpenTelemetry tracing through `@opentelemetry/api` alone (no SDK): spans go
 * to whatever tracer provider the application registered, and trace context
 * crosses every hop in Kafka headers through the registered propagator
 * (W3C `traceparent` / `tracestate` with the usual SDK set-up). With no SDK
 * registered the API is a no-op; with `@opentelemetry/api` not installed (it
 * is an optional peer dependency), nothing here does anything.
 *
 * Only src/telemetry imports `@opentelemetry/api`, and none of its types
 * reach the library's public declarations.
 */
import type * as Otel from '@opentelemetry/api';
import { headerValue, utf8, type MessageHeaders, type OutboundHeaders } from '../protocol/bytes';
import { otelApi, VERSION, type Api } from './otel';

export type SpanKindName = 'client' | 'producer' | 'consumer';

export type SpanAttributes = Record<string, string | number | boolean>;

/** A span's parent: the active context (the caller's own span), a message's headers, or another of our spans. */
export type SpanParent = 'active' | { headers: MessageHeaders } | TraceSpan;

/** Reads trace context from headers as they came (bytes): a value that is not UTF-8 text is no context. */
const HEADER_GETTER: Otel.TextMapGetter<MessageHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = headerValue(carrier, key);
    return v === undefined || typeof v === 'string' ? v : utf8(v);
  },
};

let spanKinds: Record<SpanKindName, Otel.SpanKind> | undefined;
/** The API's tracer is a proxy: got once, it follows a provider registered later. */
let tracer: Otel.Tracer | undefined;

/** One span; a no-op when there is no API, or nothing to record or propagate. */
export class TraceSpan {
  /** The span of a process with no tracing: every method does nothing. */
  private static readonly NONE = new TraceSpan(null, undefined, undefined);

  private constructor(
    private readonly otel: Api | null,
    private readonly span: Otel.Span | undefined,
    /** The context with this span as the current one. */
    private readonly context: Otel.Context | undefined,
  ) {}

  /** `attributes` is called only for a span that records. */
  static start(name: string, kind: SpanKindName, attributes: () => SpanAttributes, parent: SpanParent): TraceSpan {
    const otel = otelApi();
    if (!otel) return TraceSpan.NONE;
    const parentContext =
      parent === 'active'
        ? otel.context.active()
        : parent instanceof TraceSpan
          ? (parent.context ?? otel.context.active())
          : otel.propagation.extract(otel.ROOT_CONTEXT, parent.headers, HEADER_GETTER);
    spanKinds ??= { client: otel.SpanKind.CLIENT, producer: otel.SpanKind.PRODUCER, consumer: otel.SpanKind.CONSUMER };
    tracer ??= otel.trace.getTracer('kafka-fusion', VERSION);
    const span = tracer.startSpan(name, { kind: spanKinds[kind] }, parentContext);
    // No SDK and no propagator (the API's no-ops): nothing to record or to pass on.
    if (!span.isRecording() && otel.propagation.fields().length === 0) return TraceSpan.NONE;
    if (span.isRecording()) span.setAttributes(attributes());
    return new TraceSpan(otel, span, otel.trace.setSpan(parentContext, span));
  }

  /**
   * `headers` with this span's context written into them (a new object): a
   * request carries the span of the call that sent it. Trace headers that
   * came with `headers` (a request's, passed on) are replaced, not kept.
   */
  inject(headers: OutboundHeaders): OutboundHeaders {
    if (!this.otel || !this.context) return headers;
    const out = { ...headers };
    for (const field of this.otel.propagation.fields()) delete out[field];
    this.otel.propagation.inject(this.context, out);
    return out;
  }

  /** Run `fn` with this span active, so that spans the user's code starts are its children. */
  with<T>(fn: () => T): T {
    if (!this.otel || !this.context) return fn();
    return this.otel.context.with(this.context, fn);
  }

  setAttribute(name: string, value: string | number | boolean): void {
    this.span?.setAttribute(name, value);
  }

  addEvent(name: string, attributes?: SpanAttributes): void {
    this.span?.addEvent(name, attributes);
  }

  /** End the span; with an error, its status is ERROR and the error is recorded. */
  end(error?: unknown): void {
    if (!this.otel || !this.span) return;
    if (error !== undefined) {
      this.span.recordException(error instanceof Error ? error : String(error));
      this.span.setStatus({ code: this.otel.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
    this.span.end();
  }
}
