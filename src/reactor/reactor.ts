import { setMaxListeners } from 'node:events';
import { buildPlan, runPlan, type Plan, type RunResult } from '../dag';
import {
  AuthorizationError,
  ConfigError,
  DeadlineError,
  isFusionError,
  ProtocolError,
  StateError,
  toWireError,
  TransportError,
  type FusionError,
} from '../errors';
import { GroupConsumer, type InboundMessage } from '../kafka/consumer';
import { isRefusedForGood, isTooLarge, isUnknownTopic, type OutboundMessage } from '../kafka/producer';
import { isAllowedTopic } from '../kafka/naming';
import { MAX_TIMER_MS } from '../validate';
import { Transport } from '../kafka/transport';
import { headerValue, strictHeaderText, toBytes, writableHeaders, type OutboundHeaders } from '../protocol/bytes';
import { DEAD_LETTER_HEADERS, INTEROP_HEADERS, travellingHeaders as travelling } from '../protocol/headers';
import {
  BARE_JSON,
  correlationIdText,
  decodeRequestMessage,
  encodeReplyMessage,
  replyPartitionOf,
  resolveEncoding,
  type Encoding,
  type InboundRequest,
  type OutboundParts,
  type ReplyContent,
} from '../protocol/wire';
import { EventHub } from '../events';
import { instrumentedCall, type CallInstruments } from '../telemetry/instrument';
import { Metrics, type MessageOutcomeName, type MetricsSnapshot } from '../telemetry/metrics';
import { TraceSpan } from '../telemetry/trace';
import type { CallRef, MessageRef, ReactorEventName, ReactorEvents, ReactorListener } from './events';
import { resolveReactorOptions, type ReactorOptions, type ResolvedReactorOptions } from './options';
import { headersView } from './message';
import type { DepsFn, ProcFn, ReactorMessage, ReactorOutput, Results } from './types';

/**
 * Where a Reactor is in its life. `failed`: its start() failed, and what the
 * start had opened is closed again; it cannot be started again (make a new
 * one), and shutdown() has nothing left to do.
 */
export type ReactorState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Where a Reactor's group stands on one partition of its main topic. */
export interface PartitionPosition {
  partition: number;
  /** Next offset the group will read (its last commit); null if it never committed. */
  committed: string | null;
  /** The partition's end: the offset of the next message written. */
  high: string;
  /** Messages written and not yet committed by the group. */
  lag: number;
}

/** How a message ended, for its metrics and its span. */
interface Ended {
  outcome: MessageOutcomeName;
  error?: unknown;
}

/** How often a message in progress tells the group it is alive (kafkajs throttles to its heartbeat interval). */
const HEARTBEAT_EVERY_MS = 1000;
/** How long a reply topic's partition count is trusted, and how many are kept (see checkedPartition). */
const PARTITION_COUNT_TTL_MS = 60000;
const PARTITION_COUNTS_KEPT = 1000;

/** A reply on its caller's route: a foreign caller's correlation id as it came (Spring's is binary), on the partition it listens to. */
function routedReply(key: Buffer | null, parts: OutboundParts, idBytes: Buffer | undefined, partition: number | undefined): OutboundMessage {
  return {
    key,
    value: parts.value,
    headers: idBytes === undefined ? parts.headers : { ...parts.headers, [INTEROP_HEADERS.correlationId]: idBytes },
    ...(partition !== undefined && { partition }),
  };
}

/**
 * A Reactor: consumes a main topic; for each message runs the calls its
 * `depsFn` names as a DAG over Kafka, then `procFn`, and sends the result to
 * the message's return topic and to the Subject. Made by `elements()`,
 * started by the function `reactor(depsFn, procFn)` returns, stopped by
 * `shutdownReactor()`.
 */
export class Reactor<T = unknown, R = unknown> {
  /** @internal The options with their defaults, as resolved. */
  readonly options: ResolvedReactorOptions<T, R>;
  private state: ReactorState = 'idle';
  private transport: Transport | undefined;
  private consumer: GroupConsumer | undefined;
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;
  /** Why start() failed, when it did. */
  private startFailure: unknown;
  /** The start under way (shutdown() waits for it). */
  private starting: Promise<unknown> | undefined;
  /** Messages written to the dead-letter topic so far. */
  deadLettered = 0;
  /** Replies not written because their return topic was gone (the caller had given up, or had its answer). */
  repliesToGoneTopics = 0;
  /** Messages whose caller's deadline had passed: not started, or done but not answered (nobody was waiting). */
  expired = 0;

  private readonly events: EventHub<ReactorEvents>;
  private readonly partitionCounts = new Map<string, { count: number; at: number }>();
  private readonly meters: Metrics;
  private readonly callInstruments: CallInstruments<CallRef>;
  /** How dependency calls are written, unless a node says otherwise. */
  private readonly encoding: Encoding;

  /** Listen to one of the Reactor's events (see ReactorEvents); returns the function that stops listening. */
  on<K extends ReactorEventName>(name: K, listener: ReactorListener<K>): () => void {
    return this.events.on(name, listener);
  }

  /**
   * Counters and latency histograms since start: messages (received, ok,
   * failed, dead-lettered, expired), dependency calls (sent, ok, failed,
   * timed out, retried), what is in flight. Plain data, to export as you
   * like; the same figures go to OpenTelemetry instruments when the
   * application registered a meter provider.
   */
  metrics(): MetricsSnapshot {
    return this.meters.snapshot();
  }

  /** Validates options; does no I/O. */
  constructor(options: ReactorOptions<T, R>) {
    this.options = resolveReactorOptions(options);
    this.encoding = { codec: this.options.codec, wire: this.options.wire, interopHeaders: this.options.interopHeaders };
    this.events = new EventHub<ReactorEvents>('reactor', this.options.onError);
    this.meters = new Metrics(this.options.mainTopic, { topic: this.options.mainTopic, group: this.options.groupId });
    // ReactorEvents has the call events of CallRef; TypeScript cannot see that through the generic key.
    this.callInstruments = { emit: this.events.emit.bind(this.events) as CallInstruments<CallRef>['emit'], metrics: this.meters };
    // Every message in progress listens for shutdown on this signal.
    setMaxListeners(0, this.abort.signal);
  }

  /** Where this Reactor is in its life: idle until started, running once it consumes, stopped after shutdown, failed if its start failed. */
  get status(): ReactorState {
    return this.state;
  }

  /** Topics this Reactor created for its calls and has not deleted yet. */
  get ownedTopics(): string[] {
    return this.transport ? [...this.transport.ownedTopics] : [];
  }

  /** Connects, joins the main topic's group; resolves once it is consuming. */
  start(depsFn: DepsFn<T>, procFn: ProcFn<T, R>): Promise<this> {
    const started = this.begin(depsFn, procFn);
    if (this.state === 'starting') this.starting = started;
    return started;
  }

  private async begin(depsFn: DepsFn<T>, procFn: ProcFn<T, R>): Promise<this> {
    if (this.state === 'failed') {
      const why = this.startFailure instanceof Error ? this.startFailure.message : String(this.startFailure);
      throw new StateError(`a Reactor starts once; this one failed to start (${why}): make a new one with elements()`);
    }
    if (this.state !== 'idle') throw new StateError(`a Reactor starts once; this one is ${this.state}`);
    if (typeof depsFn !== 'function') throw new ConfigError('depsFn', 'must be a function');
    if (typeof procFn !== 'function') throw new ConfigError('procFn', 'must be a function');
    this.state = 'starting';
    const o = this.options;
    let transport: Transport | undefined;
    try {
      transport = new Transport(o);
      this.transport = transport;
      this.meters.attach();
      await transport.reach();
      if (!(await transport.admin.exists(o.mainTopic))) {
        const missing = await transport.admin.missing(o.mainTopic);
        if (missing instanceof AuthorizationError)
          throw new AuthorizationError({ ...missing, operation: 'Read' }, 'its main topic, which it may not see', missing);
        if (missing) throw new ConfigError('mainTopic', `topic "${o.mainTopic}" does not exist; create it first (e.g. ensureTopics)`);
      }
      if (!(await transport.admin.exists(o.deadLetterTopic))) {
        const missing = await transport.admin.missing(o.deadLetterTopic);
        if (missing instanceof AuthorizationError)
          throw new AuthorizationError({ ...missing, operation: 'Write' }, 'its dead-letter topic, which it may not see', missing);
        if (missing) await transport.admin.create([{ topic: o.deadLetterTopic }]);
      }
      if (!o.fromBeginning) await transport.admin.pinNewGroupAtEnd(o.groupId, o.mainTopic);
      await transport.producers.connect();
      if (o.replyMode === 'instance') await transport.instance.start();
      this.consumer = new GroupConsumer(transport.kafka, {
        groupId: o.groupId,
        topic: o.mainTopic,
        fromBeginning: o.fromBeginning,
        autoCommit: true,
        partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
        perPartitionConcurrency: o.perPartitionConcurrency,
        sessionTimeoutMs: o.sessionTimeoutMs,
        maxWaitTimeInMs: o.fetchMaxWaitMs,
        joinTimeoutMs: o.joinTimeoutMs,
        onCrash: (error) => o.onError(error),
        // A Reactor whose consumer stopped would say 'running' and read nothing.
        revive: true,
        onAssigned: (partitions) => this.hook(() => o.onPartitionsAssigned?.(partitions)),
        onRevoked: (partitions, reason) => this.hook(() => o.onPartitionsRevoked?.(partitions, reason)),
      });
      await this.consumer.start((message, heartbeat) => this.track(this.handle(message, heartbeat, depsFn, procFn)));
      transport.sweeper?.start();
      this.state = 'running';
      return this;
    } catch (e) {
      // Every failed start ends here, in a state that says so.
      this.state = 'stopping';
      await this.consumer?.stop().catch(() => undefined);
      await transport?.close().catch(() => undefined);
      this.startFailure = e;
      // A start cut short by shutdown() ends stopped, as asked; any other failure, failed.
      this.state = this.stopping ? 'stopped' : 'failed';
      throw e;
    }
  }

  /** A user hook must not break the consumer: its failure goes to onError. */
  private hook(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.options.onError(e);
    }
  }

  /** Main-topic partitions this Reactor holds now. */
  get assignment(): readonly number[] {
    return this.consumer?.assignment ?? [];
  }

  /**
   * The group's position on each partition of the main topic: committed
   * offset (null before its first commit), the topic's end (high watermark)
   * and the lag between them. Offsets are committed after each fetched batch
   * has been handled (replied to or dead-lettered).
   */
  async positions(): Promise<PartitionPosition[]> {
    if (!this.transport || this.state !== 'running') throw new StateError(`positions() needs a running Reactor; this one is ${this.state}`);
    const admin = this.transport.admin;
    const [ends, committed] = await Promise.all([admin.offsets(this.options.mainTopic), admin.groupOffsets(this.options.groupId, this.options.mainTopic)]);
    return ends
      .map((p) => {
        const c = committed.get(p.partition) ?? null;
        return { partition: p.partition, committed: c, high: p.high, lag: Number(p.high) - Number(c ?? p.low) };
      })
      .sort((a, b) => a.partition - b.partition);
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  /**
   * One main-topic message, start to reply, in a CONSUMER span whose parent
   * is the trace context of the message's headers, and counted. Failures
   * become error replies; what cannot be processed is dead-lettered. Throws
   * only when a dead letter could not be written, so that the offset is not
   * committed and the message is read again (nothing lost).
   */
  private async handle(raw: InboundMessage, heartbeat: () => Promise<void>, depsFn: DepsFn<T>, procFn: ProcFn<T, R>): Promise<void> {
    const receivedAt = Date.now();
    const span = TraceSpan.start(
      `process ${raw.topic}`,
      'consumer',
      () => ({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': raw.topic,
        'messaging.consumer.group.name': this.options.groupId,
        'messaging.destination.partition.id': String(raw.partition),
        'messaging.kafka.offset': Number(raw.offset),
      }),
      { headers: raw.headers },
    );
    this.meters.messageStarted();
    let end: Ended | undefined;
    try {
      end = await this.process(raw, heartbeat, depsFn, procFn, span, receivedAt);
    } catch (e) {
      end = { outcome: 'failed', error: e };
      throw e;
    } finally {
      // `end` is set on every path out of the try.
      this.meters.messageEnded(end!.outcome, Date.now() - receivedAt);
      span.end(end!.error);
    }
  }

  private async process(
    raw: InboundMessage,
    heartbeat: () => Promise<void>,
    depsFn: DepsFn<T>,
    procFn: ProcFn<T, R>,
    span: TraceSpan,
    receivedAt: number,
  ): Promise<Ended> {
    const where = `${raw.topic}[${raw.partition}]@${raw.offset}`;
    const ref: MessageRef = { topic: raw.topic, partition: raw.partition, offset: raw.offset };
    this.events.emit('received', () => ({ ...ref }));
    let request: InboundRequest;
    try {
      request = await decodeRequestMessage(raw.value, raw.headers, this.options.codec);
    } catch (e) {
      await this.tellUnreadable(raw, e);
      return this.deadLetter(raw, e);
    }
    if (request.returnTopic !== undefined && !this.mayReplyTo(request.returnTopic)) {
      return this.deadLetter(
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
      this.expired++;
      const error = new DeadlineError(`${where}: not started, its caller's`, request.deadline);
      this.options.subject?.next({ message, error });
      this.events.emit('done', () => ({ message, durationMs: 0, error }));
      span.addEvent('not started: its caller had stopped waiting');
      return { outcome: 'expired' };
    }
    if (request.correlationId !== undefined) ref.correlationId = request.correlationId;
    const deadline = Math.min(request.deadline ?? Infinity, receivedAt + (this.options.messageTimeoutMs ?? Infinity));
    const work = this.deadlineSignal(where, deadline);
    const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    try {
      let run: RunResult | undefined;
      let plan: Plan | undefined;
      let stage: 'deps' | 'run' | 'proc' = 'deps';
      let outcome: { result: R } | { error: unknown };
      try {
        plan = await span.with(() => this.plan(message, depsFn));
        stage = 'run';
        if (plan) this.events.emit('planned', () => ({ ...ref, nodes: [...plan!.order] }));
        const results = plan === undefined ? {} : await this.runPlan(plan, (r) => (run = r), work.signal, deadline, travelling(raw.headers), ref, span);
        stage = 'proc';
        outcome = { result: await span.with(() => procFn(message, results)) };
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
      const written = await this.reply(raw, message, request, outcome);
      if (written.status === 'expired') span.addEvent('not answered: its caller had stopped waiting');
      if ('result' in outcome && written.status !== 'dead-lettered') {
        this.options.subject?.next({ message, result: outcome.result, plan, run } as ReactorOutput<T, R>);
        this.events.emit('done', () => ({ message, durationMs: Date.now() - receivedAt }));
        return { outcome: written.status === 'expired' ? 'expired' : 'ok' };
      }
      const error = written.status === 'dead-lettered' ? written.error : (outcome as { error: unknown }).error;
      this.options.subject?.next({ message, error, plan, run });
      this.events.emit('done', () => ({ message, durationMs: Date.now() - receivedAt, error }));
      // A message whose DAG could not even be planned is dead-lettered; so is
      // one that failed with nobody to tell (no returnTopic).
      if (written.status === 'dead-lettered') return { outcome: 'dead_lettered', error };
      if (stage === 'deps' || message.returnTopic === undefined) return { ...(await this.deadLetter(raw, error)), error };
      return { outcome: written.status === 'expired' ? 'expired' : 'failed', error };
    } finally {
      clearInterval(beat);
    }
  }

  /** Aborted at the message's deadline (or at shutdown); `done()` releases its timer. */
  private deadlineSignal(where: string, deadline: number): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    const onShutdown = () => controller.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onShutdown, { once: true });
    if (this.abort.signal.aborted) onShutdown();
    // A deadline further than a timer can wait (a caller's "never") sets none.
    const left = deadline - Date.now();
    const timer = left <= MAX_TIMER_MS ? setTimeout(() => controller.abort(new DeadlineError(`${where}: the DAG's`, deadline)), Math.max(0, left)) : undefined;
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', onShutdown);
      },
    };
  }

  /** depsFn's deps map, built and validated; undefined when there is nothing to call. */
  private async plan(message: ReactorMessage<T>, depsFn: DepsFn<T>): Promise<Plan | undefined> {
    const deps = await depsFn(message);
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
    const transport = this.transport!;
    // A call never outlives its message's deadline, and tells its service so.
    const timeoutMs = () => Math.max(1, Math.min(this.options.callTimeoutMs, deadline - Date.now()));
    const run = await runPlan(
      plan,
      async (node, args, callSignal) => {
        const call = { ...ref, node: node.id, topic: node.topic };
        const outcome = await instrumentedCall(this.callInstruments, call, span, headers, (h, onRetry) =>
          transport.call(node.replyMode ?? this.options.replyMode, node.topic, args, {
            timeoutMs: timeoutMs(),
            // timeoutMs is computed a moment before the call's deadline is: never later than the message's.
            notAfter: deadline,
            node: node.id,
            headers: h,
            encoding: resolveEncoding(`node "${node.id}"`, node.codec, node.wire, this.encoding),
            signal: callSignal,
            retry: this.options.retry,
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

  /** A request without a correlation id is answered with its position, so the reply is still well formed. */
  private correlationOf(message: ReactorMessage<T>): string {
    return message.correlationId ?? `${message.topic}-${message.partition}-${message.offset}`;
  }

  /**
   * The partition a foreign caller named for its reply, checked against its
   * reply topic: kafkajs drops a message to a partition it does not know
   * without an error, so the caller would wait for nothing. Counts are
   * cached a minute (reply topics of NestJS and Spring callers are stable).
   */
  private async checkedPartition(topic: string, partition: number | undefined): Promise<number | undefined> {
    if (partition === undefined) return undefined;
    let known = this.partitionCounts.get(topic);
    if (known === undefined || Date.now() - known.at >= PARTITION_COUNT_TTL_MS) {
      known = { count: await this.transport!.admin.partitionCount(topic), at: Date.now() };
      if (this.partitionCounts.size >= PARTITION_COUNTS_KEPT) this.partitionCounts.clear();
      this.partitionCounts.set(topic, known);
    }
    if (partition >= known.count)
      throw new ProtocolError(
        `${INTEROP_HEADERS.replyPartition} ${partition} is not a partition of "${topic}" (it has ${known.count}); nothing was written to it`,
      );
    return partition;
  }

  /** Only allow-listed topics, and never this Reactor's own main or dead-letter topic. */
  private mayReplyTo(topic: string): boolean {
    const o = this.options;
    return topic !== o.mainTopic && topic !== o.deadLetterTopic && isAllowedTopic(topic, o.returnTopicAllowList);
  }

  /**
   * Write a reply, in the encoding its request came in. Its offset is
   * committed after this returns, so a reply that failed for a reason that
   * may pass (broker away, shutting down) throws: the message is read again.
   * One the broker refuses for good (a result too large for the topic...) is
   * dead-lettered, and the caller is sent an error saying so instead of
   * waiting for its deadline; so is a result the codec cannot encode.
   */
  private async reply(
    raw: InboundMessage,
    message: ReactorMessage<T>,
    request: InboundRequest,
    outcome: { result: R } | { error: unknown },
  ): Promise<{ status: 'none' | 'sent' | 'gone' | 'expired' } | { status: 'dead-lettered'; error: FusionError }> {
    const topic = message.returnTopic;
    if (topic === undefined) return { status: 'none' };
    // Nobody is waiting any more; its return topic is being deleted.
    if (message.deadline !== undefined && Date.now() >= message.deadline) {
      this.expired++;
      return { status: 'expired' };
    }
    const id = this.correlationOf(message);
    const headers = travelling(raw.headers);
    const producers = this.transport!.producers;
    let replyPartition: number | undefined;
    try {
      replyPartition = await this.checkedPartition(topic, request.replyPartition);
    } catch (e) {
      if (!(e instanceof ProtocolError || e instanceof AuthorizationError)) {
        this.options.onError(e);
        throw e; // the topic's metadata could not be read: the message is read again
      }
      await this.deadLetter(raw, e);
      return { status: 'dead-lettered', error: e };
    }
    const write = async (o: ReplyContent) => {
      const parts = await encodeReplyMessage(id, o, request.encoding, headers);
      await producers.sendReply(topic, routedReply(message.key, parts, request.correlationIdBytes, replyPartition));
    };
    let failure: FusionError;
    try {
      await write('result' in outcome ? { result: outcome.result } : { error: toWireError(outcome.error) });
      return { status: 'sent' };
    } catch (e) {
      // The caller deleted its return topic: it has given up (timed out), or
      // this is a message redone after a failover that it already had an
      // answer for. Nobody is waiting; count it.
      if (isUnknownTopic(e)) {
        this.repliesToGoneTopics++;
        return { status: 'gone' };
      }
      failure =
        e instanceof ProtocolError || e instanceof AuthorizationError
          ? e
          : new TransportError(`${raw.topic}[${raw.partition}]@${raw.offset}: could not reply to "${topic}"`, e, !isRefusedForGood(e));
      if (failure.retriable) {
        this.options.onError(failure);
        throw failure;
      }
      // Refused for good. A result too large to write, or one the codec
      // cannot encode, can still be told as a (small) error, so that the
      // caller need not wait for its deadline.
      if ('result' in outcome && (e instanceof ProtocolError || isTooLarge(e))) {
        await write({ error: toWireError(failure) }).catch((e2: unknown) =>
          this.options.onError(new TransportError(`could not tell "${topic}" that its reply was refused`, e2)),
        );
      }
    }
    await this.deadLetter(raw, failure);
    return { status: 'dead-lettered', error: failure };
  }

  /**
   * A request that cannot be read is dead-lettered; when its headers still
   * say where its caller waits (`kafka_replyTopic` and `kafka_correlationId`,
   * which kafka-fusion callers write in both formats), the caller is told why
   * at once instead of at its deadline. Best effort: a failure to tell is
   * reported to onError, and the dead letter is written regardless.
   */
  private async tellUnreadable(raw: InboundMessage, error: unknown): Promise<void> {
    let topic: string | undefined;
    try {
      topic = strictHeaderText(raw.headers, INTEROP_HEADERS.replyTopic, 'request');
    } catch {
      return; // a reply topic that is not text names no topic
    }
    const id = headerValue(raw.headers, INTEROP_HEADERS.correlationId);
    if (!topic || id === undefined || id.length === 0 || !this.mayReplyTo(topic)) return;
    // The caller's id as it came (Spring's is binary): named in text or hex, echoed byte for byte.
    const idBytes = toBytes(id);
    try {
      // Bare JSON with the error in headers: what any caller reads (a kafka-fusion one in either format, a NestJS one).
      const parts = await encodeReplyMessage(correlationIdText(idBytes), { error: toWireError(error) }, BARE_JSON, travelling(raw.headers));
      // On its partition when that is one.
      let partition: number | undefined;
      try {
        partition = await this.checkedPartition(topic, replyPartitionOf(headerValue(raw.headers, INTEROP_HEADERS.replyPartition)));
      } catch {
        partition = undefined;
      }
      await this.transport!.producers.sendReply(topic, routedReply(raw.key, parts, idBytes, partition));
    } catch (e) {
      if (!isUnknownTopic(e)) this.options.onError(new TransportError(`could not tell "${topic}" that its request could not be read`, e));
    }
  }

  /** Write the original message, as it came (key, value and headers byte for byte), to the dead-letter topic with why and whence in headers. */
  private async deadLetter(raw: InboundMessage, error: unknown): Promise<Ended> {
    const o = this.options;
    const h = DEAD_LETTER_HEADERS;
    const reason = error instanceof Error ? error.message : String(error);
    const headers: OutboundHeaders = {
      ...writableHeaders(raw.headers),
      [h.reason]: reason,
      [h.error]: error instanceof Error ? error.name : typeof error,
      [h.code]: isFusionError(error) ? error.code : 'KF_USER',
      [h.topic]: raw.topic,
      [h.partition]: String(raw.partition),
      [h.offset]: raw.offset,
      [h.timestamp]: raw.timestamp,
      [h.group]: o.groupId,
    };
    try {
      await this.transport!.producers.send(o.deadLetterTopic, [{ key: raw.key, value: raw.value, headers }]);
      this.deadLettered++;
      this.events.emit('deadLettered', () => ({ topic: raw.topic, partition: raw.partition, offset: raw.offset, reason }));
      return { outcome: 'dead_lettered', error };
    } catch (e) {
      // Not even a refusal drops it: the partition waits on it, and each try
      // says why, until an operator grants Write on the dead-letter topic.
      const failure = new TransportError(
        `${raw.topic}[${raw.partition}]@${raw.offset} could not be dead-lettered to "${o.deadLetterTopic}"; it will be read again`,
        e,
      );
      o.onError(failure);
      throw failure;
    }
  }

  /**
   * Stop consuming, let messages in progress finish (up to drainTimeoutMs,
   * then abort their calls), delete every ephemeral topic this Reactor
   * created, complete the Subject, disconnect. Idempotent.
   */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.state === 'starting') {
        // End a start under way (a consumer stopped while it joins gives up), then stop whatever it reached.
        await this.consumer?.stop().catch(() => undefined);
        await this.starting?.catch(() => undefined);
      }
      const now = this.state as ReactorState; // the start awaited above may have moved it
      if (now === 'idle' || now === 'stopped' || now === 'failed') {
        if (now === 'idle') this.state = 'stopped';
        this.options.subject?.complete();
        return;
      }
      this.state = 'stopping';
      const errors: unknown[] = [];
      const stopConsumer = this.consumer?.stop() ?? Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        stopConsumer.then(
          () => true,
          (e) => (errors.push(e), true),
        ),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.options.drainTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!drained) {
        this.abort.abort(new StateError(`reactor shut down with a message still in progress after ${this.options.drainTimeoutMs} ms`));
        await stopConsumer.catch(() => undefined);
      }
      await Promise.all([...this.inFlight]);
      try {
        await this.transport?.close();
      } catch (e) {
        errors.push(e);
      }
      this.options.subject?.complete();
      this.state = 'stopped';
      if (errors.length > 0) throw errors[0];
    })();
    return this.stopping;
  }
}

/** fusion-clj's `elements`: the resources a Reactor runs on. Validates; does no I/O. */
export function elements<T = unknown, R = unknown>(options: ReactorOptions<T, R>): Reactor<T, R> {
  return new Reactor<T, R>(options);
}

/**
 * fusion-clj's `reactor`: returns a function that starts a Reactor on its
 * elements and resolves once it consumes. A dependency service is a Reactor
 * whose depsFn returns nothing.
 */
export function reactor<T = unknown, R = unknown>(depsFn: DepsFn<T>, procFn: ProcFn<T, R>): (els: Reactor<T, R>) => Promise<Reactor<T, R>> {
  return (els) => els.start(depsFn, procFn);
}

/**
 * Stop a Reactor cleanly (see `Reactor.shutdown`). Takes elements of
 * any message and result types, so `[a, b].map(shutdownReactor)` type-checks
 * for Reactors of different types.
 */
export function shutdownReactor(els: Pick<Reactor, 'shutdown'>): Promise<void> {
  return els.shutdown();
}
