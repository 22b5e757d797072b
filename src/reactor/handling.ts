/**
 * What happens to each main-topic message: read it, check where its reply
 * may go and whether its caller still waits, plan and run its DAG, call
 * procFn, and settle it (see `settle`, the outcome table). The transport
 * and the responder are injected, so that all of it is unit-tested
 * without a broker.
 */
import { buildPlan, runPlan, type Plan, type RunResult } from '../dag';
import { DeadlineError, ProtocolError } from '../errors';
import type { CallOptions, CallOutcome } from '../calls/calls';
import type { EventHub } from '../events';
import type { InboundMessage } from '../kafka/consumer';
import type { OutboundHeaders } from '../protocol/bytes';
import { travellingHeaders as travelling } from '../protocol/headers';
import { decodeRequestMessage, resolveEncoding, type Encoding, type InboundRequest } from '../protocol/wire';
import type { ReplyMode } from '../reply-mode';
import { instrumentedCall, type CallInstruments } from '../telemetry/instrument';
import type { Metrics, MessageOutcomeName } from '../telemetry/metrics';
import { TraceSpan } from '../telemetry/trace';
import { MAX_TIMER_MS } from '../validate';
import type { CallRef, MessageRef, ReactorEvents } from './events';
import { headersView } from './message';
import type { ResolvedReactorOptions } from './options';
import type { ReplyStatus, Responder } from './responder';
import type { DepsFn, ProcFn, ReactorMessage, ReactorOutput, Results } from './types';

/** How often a message in progress tells the group it is alive (kafkajs throttles to its heartbeat interval). */
const HEARTBEAT_EVERY_MS = 1000;

/** How a message ended, for its metrics and its span. */
export interface Ended {
  outcome: MessageOutcomeName;
  error?: unknown;
}

/** Where the work on a message stopped: building its deps map, running its DAG, or procFn. */
export type Stage = 'deps' | 'run' | 'proc';

/**
 * The outcome table: how a message that was read and admitted ends, from
 * whether its work produced a result, where it stopped, what became of its
 * reply, and whether it named a return topic. Outcomes are spelt as the
 * metrics' `outcome` attribute is (`dead_lettered`); counters and events,
 * as JavaScript names (`deadLettered`).
 *
 * | work | reply | outcome |
 * |---|---|---|
 * | any | `dead_lettered` (refused for good) | `dead_lettered` (already written) |
 * | result | sent, none, gone | ok |
 * | result | expired (nobody waits) | expired |
 * | error at `deps` (no DAG to run), or with no return topic | any other | `dead_letter` it (nobody else would know) |
 * | error at `run` or `proc` | sent, gone | failed (the caller was told) |
 * | error at `run` or `proc` | expired | expired |
 */
export function settle(
  work: { ok: boolean; stage: Stage; hasReturnTopic: boolean },
  reply: ReplyStatus['status'],
): 'ok' | 'expired' | 'failed' | 'dead_letter' | 'dead_lettered' {
  if (reply === 'dead_lettered') return 'dead_lettered';
  if (work.ok) return reply === 'expired' ? 'expired' : 'ok';
  if (work.stage === 'deps' || !work.hasReturnTopic) return 'dead_letter';
  return reply === 'expired' ? 'expired' : 'failed';
}

/** What a MessageHandler works with: the Reactor's options and parts. */
export interface HandlerDeps<T, R> {
  options: ResolvedReactorOptions<T, R>;
  responder: Responder;
  /** A dependency call (the transport's). */
  call: (mode: ReplyMode, topic: string, data: unknown, opts: CallOptions) => Promise<CallOutcome<unknown>>;
  events: EventHub<ReactorEvents>;
  meters: Metrics;
  callInstruments: CallInstruments<CallRef>;
  /** How dependency calls are written, unless a node says otherwise. */
  encoding: Encoding;
  /** Aborted at shutdown: calls in flight end. */
  shutdown: AbortSignal;
}

export class MessageHandler<T, R> {
  /** Messages not started because their caller's deadline had passed. */
  notStarted = 0;

  constructor(
    private readonly deps: HandlerDeps<T, R>,
    private readonly depsFn: DepsFn<T>,
    private readonly procFn: ProcFn<T, R>,
  ) {}

  /** Dead-letter a message (throws when that cannot be written: the message is read again). */
  private async deadLettered(raw: InboundMessage, error: unknown): Promise<Ended> {
    await this.deps.responder.deadLetter(raw, error);
    return { outcome: 'dead_lettered', error };
  }

  /**
   * One main-topic message, start to reply, in a CONSUMER span whose parent
   * is the trace context of the message's headers, and counted. Failures
   * become error replies; what cannot be processed is dead-lettered. Throws
   * only when a dead letter could not be written, so that the offset is not
   * committed and the message is read again (nothing lost).
   */
  async handle(raw: InboundMessage, heartbeat: () => Promise<void>): Promise<void> {
    const receivedAt = Date.now();
    const span = TraceSpan.start(
      `process ${raw.topic}`,
      'consumer',
      () => ({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': raw.topic,
        'messaging.consumer.group.name': this.deps.options.groupId,
        'messaging.destination.partition.id': String(raw.partition),
        'messaging.kafka.offset': Number(raw.offset),
      }),
      { headers: raw.headers },
    );
    this.deps.meters.messageStarted();
    let end: Ended | undefined;
    try {
      end = await this.process(raw, heartbeat, span, receivedAt);
    } catch (e) {
      end = { outcome: 'failed', error: e };
      throw e;
    } finally {
      // `end` is set on every path out of the try.
      this.deps.meters.messageEnded(end!.outcome, Date.now() - receivedAt);
      span.end(end!.error);
    }
  }

  private async process(raw: InboundMessage, heartbeat: () => Promise<void>, span: TraceSpan, receivedAt: number): Promise<Ended> {
    const where = `${raw.topic}[${raw.partition}]@${raw.offset}`;
    const ref: MessageRef = { topic: raw.topic, partition: raw.partition, offset: raw.offset };
    this.deps.events.emit('received', () => ({ ...ref }));
    let request: InboundRequest;
    try {
      request = await decodeRequestMessage(raw.value, raw.headers, this.deps.options.codec);
    } catch (e) {
      await this.deps.responder.tellUnreadable(raw, e);
      return this.deadLettered(raw, e);
    }
    if (request.returnTopic !== undefined && !this.deps.responder.mayReplyTo(request.returnTopic)) {
      return this.deadLettered(
        raw,
        new ProtocolError(`${where}: returnTopic ${JSON.stringify(request.returnTopic)} is not allowed (returnTopicAllowList); nothing was written to it`),
      );
    }
    const message: ReactorMessage<T> = {
      topic: raw.topic,
      partition: raw.partition,
      offset: raw.offset,
      key: raw.key,
      value: request.data as T,
      headers: headersView(raw.headers),
      ...(request.returnTopic !== undefined && { returnTopic: request.returnTopic }),
      ...(request.correlationId !== undefined && { correlationId: request.correlationId }),
      ...(request.deadline !== undefined && { deadline: request.deadline }),
    };
    if (request.correlationId !== undefined) span.setAttribute('messaging.message.conversation_id', request.correlationId);
    // Its caller has stopped waiting (e.g. a backlog after a failover or a
    // broker restart): working on it would only delay the messages behind it.
    if (request.deadline !== undefined && receivedAt >= request.deadline) {
      this.notStarted++;
      const error = new DeadlineError(`${where}: not started, its caller's`, request.deadline);
      this.deps.options.subject?.next({ message, error });
      this.deps.events.emit('done', () => ({ message, durationMs: 0, error }));
      span.addEvent('not started: its caller had stopped waiting');
      return { outcome: 'expired' };
    }
    if (request.correlationId !== undefined) ref.correlationId = request.correlationId;
    const deadline = Math.min(request.deadline ?? Infinity, receivedAt + (this.deps.options.messageTimeoutMs ?? Infinity));
    const work = this.deadlineSignal(where, deadline);
    const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      let run: RunResult | undefined;
      let plan: Plan | undefined;
      let stage: 'deps' | 'run' | 'proc' = 'deps';
      let outcome: { result: R } | { error: unknown };
      try {
        plan = await span.with(() => this.plan(message));
        stage = 'run';
        if (plan) this.deps.events.emit('planned', () => ({ ...ref, nodes: [...plan!.order] }));
        const results = plan === undefined ? {} : await this.runPlan(plan, (r) => (run = r), work.signal, deadline, travelling(raw.headers), ref, span);
        stage = 'proc';
        outcome = { result: await span.with(() => this.procFn(message, results)) };
      } catch (thrown) {
        outcome = {
          error:
            stage === 'run' && Date.now() >= deadline && !(thrown instanceof DeadlineError)
              ? new DeadlineError(`${where}: the DAG's`, deadline, thrown)
              : thrown,
        };
      } finally {
        work.done();
      }
      // A reply that cannot be written throws from here (the message is read again).
      const written = await this.deps.responder.reply(raw, message, request, outcome);
      if (written.status === 'expired') span.addEvent('not answered: its caller had stopped waiting');
      const settled = settle({ ok: 'result' in outcome, stage, hasReturnTopic: message.returnTopic !== undefined }, written.status);
      if ('result' in outcome && (settled === 'ok' || settled === 'expired')) {
        this.deps.options.subject?.next({ message, result: outcome.result, plan, run } as ReactorOutput<T, R>);
        this.deps.events.emit('done', () => ({ message, durationMs: Date.now() - receivedAt }));
        return { outcome: settled };
      }
      const error = written.status === 'dead_lettered' ? written.error : (outcome as { error: unknown }).error;
      this.deps.options.subject?.next({ message, error, plan, run });
      this.deps.events.emit('done', () => ({ message, durationMs: Date.now() - receivedAt, error }));
      if (settled === 'dead_letter') return this.deadLettered(raw, error);
      return { outcome: settled, error };
    } finally {
      clearInterval(beat);
    }
  }

  /** Aborted at the message's deadline (or at shutdown); `done()` releases its timer. */
  private deadlineSignal(where: string, deadline: number): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    const onShutdown = () => controller.abort(this.deps.shutdown.reason);
    this.deps.shutdown.addEventListener('abort', onShutdown, { once: true });
    if (this.deps.shutdown.aborted) onShutdown();
    // A deadline further than a timer can wait (a caller's "never") sets none.
    const left = deadline - Date.now();
    const timer = left <= MAX_TIMER_MS ? setTimeout(() => controller.abort(new DeadlineError(`${where}: the DAG's`, deadline)), Math.max(0, left)) : undefined;
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        this.deps.shutdown.removeEventListener('abort', onShutdown);
      },
    };
  }

  /** depsFn's deps map, built and validated; undefined when there is nothing to call. */
  private async plan(message: ReactorMessage<T>): Promise<Plan | undefined> {
    const deps = await this.depsFn(message);
    if (deps === undefined || deps === null) return undefined;
    const plan = buildPlan(deps);
    return plan.nodes.size === 0 ? undefined : plan;
  }

  private async runPlan(
    plan: Plan,
    onRun: (r: RunResult) => void,
    signal: AbortSignal,
    deadline: number,
    headers: OutboundHeaders,
    ref: MessageRef,
    span: TraceSpan,
  ): Promise<Results> {
    // A call never outlives its message's deadline, and tells its service so.
    const timeoutMs = () => Math.max(1, Math.min(this.deps.options.callTimeoutMs, deadline - Date.now()));
    const run = await runPlan(
      plan,
      async (node, args, callSignal) => {
        const call = { ...ref, node: node.id, topic: node.topic };
        const outcome = await instrumentedCall(this.deps.callInstruments, call, span, headers, (h, onRetry) =>
          this.deps.call(node.replyMode ?? this.deps.options.replyMode, node.topic, args, {
            timeoutMs: timeoutMs(),
            // timeoutMs is computed a moment before the call's deadline is: never later than the message's.
            notAfter: deadline,
            node: node.id,
            headers: h,
            encoding: resolveEncoding(`node "${node.id}"`, node.codec, node.wire, this.deps.encoding),
            signal: callSignal,
            retry: this.deps.options.retry,
            onRetry,
          }),
        );
        return outcome.result;
      },
      // A failed or cut-short run is drawn too: onRun hears of every run.
      { signal, onSettled: onRun },
    );
    return run.results;
  }
}
