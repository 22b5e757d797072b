import { CALLER_DEFAULTS, CALLER_OPTIONS, resolveCallerFields, type CallerOptions, type ResolvedCallerOptions } from '../calls/caller';
import type { CallOutcome } from '../calls/calls';
import { ConfigError, StateError } from '../errors';
import { checkKnownOptions } from '../known-options';
import { checkDuration, withoutUndefined } from '../validate';
import { checkReplyMode, type ReplyMode } from '../reply-mode';
import { isValidTopicName } from '../naming';
import { Transport } from '../calls/transport';
import type { Codec } from '../protocol/codec';
import { hasUtf8Form } from '../protocol/bytes';
import { encodeRequestMessage, resolveEncoding, type Encoding, type WireFormat } from '../protocol/wire';
import type { OutboundMessage } from '../kafka/producer';
import { EventHub, type CallEvents, type Listener } from '../events';
import type { LifecycleState } from '../lifecycle';
import { instrumentedCall, type CallInstruments } from '../telemetry/instrument';
import { Metrics, type MetricsSnapshot } from '../telemetry/metrics';
import { TraceSpan } from '../telemetry/trace';

/**
 * Everything a Pipeline runs on, all optional: the caller options (see
 * CallerOptions; `callTimeoutMs` is the default deadline of `request`).
 */
export type PipelineOptions = CallerOptions;

/** PipelineOptions with their defaults filled in. */
export type ResolvedPipelineOptions = ResolvedCallerOptions;

/** What a Pipeline option is when not given (see PipelineOptions; the caller options' are CALLER_DEFAULTS). */
export const PIPELINE_DEFAULTS = {
  ...CALLER_DEFAULTS,
  /** Logs to stderr. */
  onError: (error: unknown) => console.error('kafka-fusion pipeline:', error),
} satisfies Omit<ResolvedPipelineOptions, 'replyTopic'>;

/** Options of `send` (and the base of `request`'s). */
export interface SendOptions {
  /** Message key: decides the partition. Text (written as UTF-8) or any bytes, written as they are. */
  key?: string | Uint8Array;
  /** This message's codec. Default: the Pipeline's. */
  codec?: Codec;
  /** This message's wire format. Default: the codec's, or the Pipeline's. */
  wire?: WireFormat;
  /**
   * Headers of the request: each value text (written as UTF-8) or any bytes
   * (written as they are). A Reactor passes them on, byte for byte, to every
   * dependency call and to its reply, so correlation and tenant ids travel
   * (a Reactor's `message.headers` can be given here as they are; they hold
   * a repeated name's last value only, and a null value as empty). Names
   * starting with `kafka-fusion.` or `kafka_` are the protocol's and are not
   * passed on.
   */
  headers?: Record<string, string | Uint8Array>;
}

/** Options of `request` and `call`. */
export interface RequestOptions extends SendOptions {
  /** Deadline for the result. Default: the Pipeline's callTimeoutMs. */
  timeoutMs?: number;
  /** Abort the request early. */
  signal?: AbortSignal;
  /** This request's reply mode. Default: the Pipeline's replyMode. */
  replyMode?: ReplyMode;
}

/** One message of `sendBatch`. */
export interface BatchItem<T> {
  data: T;
  key?: string | Uint8Array | null;
  headers?: Record<string, string | Uint8Array>;
}

/** Options of sendBatch: every item is written in one encoding. */
export type BatchOptions = Pick<SendOptions, 'codec' | 'wire'>;

/** A request of a Pipeline. */
export interface PipelineCallRef {
  topic: string;
}

/** A Pipeline's events (`pipeline.on(name, listener)`); durations in milliseconds. */
export interface PipelineEvents extends CallEvents<PipelineCallRef> {
  /** `send` or `sendBatch` wrote `count` messages to `topic`. */
  sent: { topic: string; count: number };
}

const SEND_OPTIONS = ['key', 'codec', 'wire', 'headers'] as const;
const REQUEST_OPTIONS = [...SEND_OPTIONS, 'timeoutMs', 'signal', 'replyMode'] as const;
const BATCH_ITEM = ['data', 'key', 'headers'] as const;

export function resolvePipelineOptions(options: PipelineOptions = {}): ResolvedPipelineOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'expected an options object');
  if ('requestTimeoutMs' in options)
    throw new ConfigError(
      'requestTimeoutMs',
      "is now callTimeoutMs (the default deadline of request); connection.requestTimeoutMs is kafkajs's timeout of one broker request",
    );
  checkKnownOptions(options, [...new Set([...CALLER_OPTIONS, ...Object.keys(PIPELINE_DEFAULTS)])]);
  const o = { ...PIPELINE_DEFAULTS, ...withoutUndefined(options) } as ResolvedPipelineOptions;
  resolveCallerFields(o, options);
  return o;
}

/**
 * Text, or bytes as a Buffer (a Uint8Array is copied: the caller may reuse
 * it). Text with a lone UTF-16 surrogate has no UTF-8 form (it would be
 * written as U+FFFD): refused, naming `path`.
 */
function textOrBytes(v: unknown, path: string): string | Buffer | undefined {
  if (typeof v === 'string') {
    if (!hasUtf8Form(v)) throw new ConfigError(path, 'is a string with a lone UTF-16 surrogate, which has no UTF-8 form; give it as bytes, or fix the text');
    return v;
  }
  if (Buffer.isBuffer(v)) return v;
  return v instanceof Uint8Array ? Buffer.from(v) : undefined;
}

/** Headers must be a plain object of strings or bytes. */
function checkHeaders(headers: unknown): Record<string, string | Buffer> {
  // No prototype: a header named __proto__ is kept like any other.
  const out = Object.create(null) as Record<string, string | Buffer>;
  const wrong = () => new ConfigError('headers', 'must be an object whose values are strings or bytes (Buffer, Uint8Array)');
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || headers instanceof Uint8Array) throw wrong();
  for (const [name, v] of Object.entries(headers)) {
    const value = textOrBytes(v, `headers.${name}`);
    if (value === undefined) throw wrong();
    out[name] = value;
  }
  return out;
}

/** A key must be a string or bytes; none (undefined or null) lets the partitioner choose. */
function checkKey(key: unknown): string | Buffer | undefined {
  if (key === undefined || key === null) return undefined;
  const out = textOrBytes(key, 'key');
  if (out === undefined) throw new ConfigError('key', `must be a string or bytes (Buffer, Uint8Array), got ${typeof key}`);
  return out;
}

/**
 * The producer gateway for API servers: `send` (fire and forget),
 * `sendBatch`, and `request` (send, wait for the result with a deadline, on
 * a fresh return topic or on this Pipeline's own: see `replyMode`).
 */
export class Pipeline {
  /** @internal The options with their defaults, as resolved. */
  readonly options: ResolvedPipelineOptions;
  private state: LifecycleState = 'idle';
  private transport: Transport | undefined;
  private starting: Promise<this> | undefined;
  private closing: Promise<void> | undefined;

  /** The Pipeline's codec and wire format. */
  private readonly encoding: Encoding;
  private readonly events: EventHub<PipelineEvents>;
  private readonly meters = new Metrics('pipeline');
  private readonly callInstruments: CallInstruments<PipelineCallRef>;

  /** Validates options; does no I/O. */
  constructor(options: PipelineOptions = {}) {
    this.options = resolvePipelineOptions(options);
    this.encoding = { codec: this.options.codec, wire: this.options.wire, interopHeaders: this.options.interopHeaders };
    this.events = new EventHub<PipelineEvents>('pipeline', this.options.onError);
    // PipelineEvents has the call events of PipelineCallRef; TypeScript cannot see that through the generic key.
    this.callInstruments = { emit: this.events.emit.bind(this.events) as CallInstruments<PipelineCallRef>['emit'], metrics: this.meters };
  }

  /** Listen to one of the Pipeline's events (see PipelineEvents); returns the function that stops listening. */
  on<K extends keyof PipelineEvents>(name: K, listener: Listener<PipelineEvents, K>): () => void {
    return this.events.on(name, listener);
  }

  /**
   * Counters and latency histograms of this Pipeline's requests since start
   * (sent, ok, failed, timed out, retried, in flight); its message counts
   * stay 0. The same figures go to OpenTelemetry instruments when the
   * application registered a meter provider.
   */
  metrics(): MetricsSnapshot {
    return this.meters.snapshot();
  }

  /** Attempts made again after a transient failure, since start. */
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

  /** Second and later replies to one request (same correlation id): dropped, never delivered twice. */
  get duplicateReplies(): number {
    return this.transport?.callCounters.duplicates ?? 0;
  }

  /** Replies no request was waiting for (late, after a timeout, or foreign). */
  get ignoredReplies(): number {
    return this.transport?.callCounters.ignored ?? 0;
  }

  /** Ephemeral mode: return topics made ahead of the calls and ready now (each serves one call). */
  get readyReturnTopics(): number {
    return this.transport?.requester.pool.stock ?? 0;
  }

  /** Where this Pipeline is in its life (the same states as a Reactor's: see LifecycleState). */
  get status(): LifecycleState {
    return this.state;
  }

  /**
   * Connects the producer; in instance mode creates the reply topic and
   * starts reading it (no consumer group); in ephemeral mode checks that this principal may
   * create return topics (an AuthorizationError if not). Idempotent.
   */
  start(): Promise<this> {
    if (this.state === 'stopping' || this.state === 'stopped')
      return Promise.reject(new StateError(`pipeline is ${this.state}; a closed Pipeline does not start again: make a new one`));
    this.starting ??= (async () => {
      const o = this.options;
      this.state = 'starting';
      this.transport = new Transport(o);
      this.meters.attach();
      try {
        await this.transport.reach();
        // A Pipeline that may not create return topics would fail each request: say so now.
        await this.transport.startCalls(o.replyMode, true);
        this.transport.sweeper?.start();
      } catch (e) {
        this.starting = undefined;
        await this.transport.close().catch(() => undefined);
        // A Pipeline may be started again after a failed start (a Reactor may not).
        if (this.state === 'starting') this.state = 'idle';
        throw e;
      }
      if (this.state === 'starting') this.state = 'running';
      return this;
    })();
    return this.starting;
  }

  private running(topic: string): Transport {
    if (this.state === 'stopping' || this.state === 'stopped')
      throw new StateError(`pipeline is ${this.state}; a closed Pipeline does not start again: make a new one`);
    if (this.state !== 'running' || !this.transport)
      throw new StateError(`pipeline is ${this.state}; ${this.state === 'starting' ? 'wait for start() to resolve' : 'call start() first'}`);
    if (!isValidTopicName(topic)) throw new ConfigError('topic', `not a valid Kafka topic name: ${JSON.stringify(topic)}`);
    return this.transport;
  }

  /** Fire and forget: no return topic, nobody replies. */
  async send<T>(topic: string, data: T, options: SendOptions = {}): Promise<void> {
    const transport = this.running(topic);
    checkKnownOptions(options, SEND_OPTIONS, 'options.');
    await this.produce(transport, topic, [{ data, key: options.key, headers: options.headers }], this.encodingOf(options));
  }

  /** Fire and forget, many at once; each item's key decides its partition. */
  async sendBatch<T>(topic: string, items: BatchItem<T>[], options: BatchOptions = {}): Promise<void> {
    const transport = this.running(topic);
    if (!Array.isArray(items)) throw new ConfigError('items', 'must be an array');
    checkKnownOptions(options, ['codec', 'wire'], 'options.');
    items.forEach((item, i) => {
      if (typeof item !== 'object' || item === null) throw new ConfigError(`items[${i}]`, 'must be an object { data, key?, headers? }');
      checkKnownOptions(item, BATCH_ITEM, `items[${i}].`);
    });
    if (items.length === 0) return;
    await this.produce(transport, topic, items, this.encodingOf(options));
  }

  /** Fire-and-forget requests (no return topic, no correlation id), in one PRODUCER span whose context each carries. */
  private async produce(transport: Transport, topic: string, items: readonly BatchItem<unknown>[], encoding: Encoding): Promise<void> {
    const span = TraceSpan.start(
      `send ${topic}`,
      'producer',
      () => ({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
        'messaging.batch.message_count': items.length,
      }),
      'active',
    );
    try {
      const messages = await Promise.all(
        items.map(async (i): Promise<OutboundMessage> => {
          const { value, headers } = await encodeRequestMessage({ data: i.data }, encoding, span.inject(i.headers ? checkHeaders(i.headers) : {}));
          return { key: checkKey(i.key) ?? null, value, headers };
        }),
      );
      await transport.producers.send(topic, messages);
      span.end();
    } catch (e) {
      span.end(e);
      throw e;
    }
    this.events.emit('sent', () => ({ topic, count: items.length }));
  }

  /** This message's codec and wire format over the Pipeline's. */
  private encodingOf(options: Pick<SendOptions, 'codec' | 'wire'>): Encoding {
    return resolveEncoding('', options.codec, options.wire, this.encoding);
  }

  /**
   * Send a request and wait for its result.
   *
   * @throws UnknownTopicError when `topic` does not exist (at once; nothing is written)
   * @throws CallTimeoutError when no reply came within `timeoutMs`
   * @throws RemoteError when the service answered with an error
   * @throws ProtocolError when the reply cannot be read, or `data` cannot be encoded
   * @throws TransportError when Kafka failed (after the retries `retry` allows)
   * @throws ConfigError for bad options; StateError before start() or after close()
   */
  async request<R = unknown, T = unknown>(topic: string, data: T, options: RequestOptions = {}): Promise<R> {
    return (await this.call<R, T>(topic, data, options)).result;
  }

  /** `request`, with the return topic, correlation id and where the time went. */
  async call<R = unknown, T = unknown>(topic: string, data: T, options: RequestOptions = {}): Promise<CallOutcome<R>> {
    const transport = this.running(topic);
    checkKnownOptions(options, REQUEST_OPTIONS, 'options.');
    const timeoutMs = options.timeoutMs ?? this.options.callTimeoutMs;
    const mode = options.replyMode ?? this.options.replyMode;
    checkDuration('timeoutMs', timeoutMs);
    checkReplyMode('replyMode', mode);
    const encoding = this.encodingOf(options);
    const headers = options.headers && checkHeaders(options.headers);
    const key = checkKey(options.key);
    return instrumentedCall(this.callInstruments, { topic }, 'active', headers, (h, onRetry) =>
      transport.call<R>(mode, topic, data, { timeoutMs, key, headers: h, encoding, signal: options.signal, retry: this.options.retry, onRetry }),
    );
  }

  /** Rejects requests in flight, deletes the return topics it created, disconnects. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'stopping';
      await this.starting?.catch(() => undefined);
      try {
        await this.transport?.close();
      } finally {
        this.state = 'stopped';
      }
    })();
    return this.closing;
  }
}

/** A started Pipeline. */
export function createPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  return new Pipeline(options).start();
}
