import { setMaxListeners } from 'node:events';
import { Transport } from '../calls/transport';
import { ConfigError, StateError } from '../errors';
import { EventHub } from '../events';
import type { LifecycleState } from '../lifecycle';
import type { GroupConsumer } from '../kafka/consumer';
import type { Encoding } from '../protocol/wire';
import type { CallInstruments } from '../telemetry/instrument';
import { Metrics, type MetricsSnapshot } from '../telemetry/metrics';
import type { CallRef, ReactorEventName, ReactorEvents, ReactorListener } from './events';
import { MessageHandler } from './handling';
import { resolveReactorOptions, type ReactorOptions, type ResolvedReactorOptions } from './options';
import { Responder } from './responder';
import type { DepsFn, ProcFn } from './types';

/** @deprecated The Reactor's class was called ReactorElements: use `Reactor`. */
export type ReactorElements<T = unknown, R = unknown> = Reactor<T, R>;

/** Where a Reactor is in its life (see LifecycleState). */
export type ReactorState = LifecycleState;

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
  private responder: Responder | undefined;
  private handler: MessageHandler<T, R> | undefined;

  /** Messages written to the dead-letter topic so far. */
  get deadLettered(): number {
    return this.responder?.deadLettered ?? 0;
  }

  /** Replies not written because their return topic was gone (the caller had given up, or had its answer). */
  get repliesToGoneTopics(): number {
    return this.responder?.repliesToGoneTopics ?? 0;
  }

  /** Dependency calls made again after a transient failure, since start. */
  get retries(): number {
    return this.transport?.callCounters.retries ?? 0;
  }

  /**
   * Messages kafkajs reported written that no partition's answer confirmed
   * (a retry after a leader moved can skip a partition): each was sent again
   * rather than left to wait for its deadline.
   */
  get resentWrites(): number {
    return this.transport?.callCounters.resent ?? 0;
  }

  /** Second and later replies to one dependency call (same correlation id): dropped, never delivered twice. */
  get duplicateReplies(): number {
    return this.transport?.callCounters.duplicates ?? 0;
  }

  /** Replies to dependency calls nothing was waiting for (late, after a timeout, or foreign). */
  get ignoredReplies(): number {
    return this.transport?.callCounters.ignored ?? 0;
  }

  /** Messages whose caller's deadline had passed: not started, or done but not answered (nobody was waiting). */
  get expired(): number {
    return (this.handler?.notStarted ?? 0) + (this.responder?.expired ?? 0);
  }

  private readonly events: EventHub<ReactorEvents>;
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
      if (!(await transport.admin.present(o.mainTopic, 'Read', 'its main topic, which it may not see'))) {
        throw new ConfigError('mainTopic', `topic "${o.mainTopic}" does not exist; create it first (e.g. ensureTopics)`);
      }
      if (!(await transport.admin.present(o.deadLetterTopic, 'Write', 'its dead-letter topic, which it may not see'))) {
        await transport.admin.create([{ topic: o.deadLetterTopic, replicationFactor: o.deadLetterReplicationFactor }]);
      }
      if (!o.fromBeginning) await transport.admin.pinNewGroupAtEnd(o.groupId, o.mainTopic);
      // A Reactor that only serves never creates a return topic: no check of that right.
      await transport.startCalls(o.replyMode, false);
      this.consumer = transport.client.consumer({
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
      const live = transport;
      const responder = new Responder(
        {
          sendReply: (topic, m) => live.producers.sendReply(topic, m),
          send: (topic, m) => live.producers.send(topic, m),
          partitionCount: (topic) => live.admin.partitionCount(topic),
        },
        { ...o, onDeadLettered: (ref, reason) => this.events.emit('deadLettered', () => ({ ...ref, reason })) },
      );
      this.responder = responder;
      const handler = new MessageHandler<T, R>(
        {
          options: o,
          responder,
          call: (mode, topic, data, opts) => live.call(mode, topic, data, opts),
          events: this.events,
          meters: this.meters,
          callInstruments: this.callInstruments,
          encoding: this.encoding,
          shutdown: this.abort.signal,
        },
        depsFn,
        procFn,
      );
      this.handler = handler;
      await this.consumer.start((message, heartbeat) => this.track(handler.handle(message, heartbeat)));
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
   * Stop consuming, let messages in progress finish (up to drainTimeoutMs,
   * then abort their calls), delete every ephemeral topic this Reactor
   * created, complete the Subject, disconnect. Idempotent.
   */
  shutdown(): Promise<void> {
    return this.close();
  }

  /** The same as `shutdown()`: the verb a Pipeline has too. */
  close(): Promise<void> {
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
