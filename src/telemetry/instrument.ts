/**
 * One request/reply call, instrumented the same way wherever it is made (a
 * Pipeline's request, a Reactor's dependency call): its events, its metrics,
 * and a CLIENT span whose context the request carries in its headers, so the
 * service's own span is its child.
 */
import type { CallEvents } from '../events';
import type { OutboundHeaders } from '../protocol/bytes';
import { callOutcomeOf, type Metrics } from './metrics';
import { TraceSpan, type SpanParent } from './trace';

export interface CallInstruments<Ref> {
  emit: <K extends keyof CallEvents<Ref>>(name: K, make: () => CallEvents<Ref>[K]) => void;
  metrics: Metrics;
}

/** Told of each retry of a call, before its wait. */
export type RetryHook = (error: unknown, attempt: number, delayMs: number) => void;

export async function instrumentedCall<Ref extends { topic: string; node?: string }, O extends { correlationId: string }>(
  inst: CallInstruments<Ref>,
  ref: Ref,
  parent: SpanParent,
  headers: OutboundHeaders | undefined,
  call: (headers: OutboundHeaders, onRetry: RetryHook) => Promise<O>,
): Promise<O> {
  const span = TraceSpan.start(
    `request ${ref.topic}`,
    'client',
    () => ({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': ref.topic,
      ...(ref.node !== undefined && { 'kafka_fusion.node': ref.node }),
    }),
    parent,
  );
  const started = Date.now();
  inst.metrics.callStarted();
  inst.emit('callSent', () => ({ ...ref }));
  const onRetry: RetryHook = (error, attempt, delayMs) => {
    inst.metrics.callRetried(ref.topic);
    span.addEvent('retry', { attempt, delayMs, error: error instanceof Error ? error.message : String(error) });
    inst.emit('callRetried', () => ({ ...ref, attempt, delayMs, error }));
  };
  let outcome: O;
  try {
    outcome = await call(span.inject(headers ?? {}), onRetry);
  } catch (error) {
    const durationMs = Date.now() - started;
    inst.metrics.callEnded(ref.topic, callOutcomeOf(error), durationMs);
    inst.emit('callFailed', () => ({ ...ref, durationMs, error }));
    span.end(error);
    throw error;
  }
  const durationMs = Date.now() - started;
  inst.metrics.callEnded(ref.topic, 'ok', durationMs);
  inst.emit('callDone', () => ({ ...ref, durationMs }));
  span.setAttribute('messaging.message.conversation_id', outcome.correlationId);
  span.end();
  return outcome;
}
