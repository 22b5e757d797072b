import type { Subject } from 'rxjs';
import { ConfigError } from '../errors';
import { checkKnownOptions } from '../known-options';
import { resolveCallEncoding } from '../options';
import { checkReplyMode } from '../reply-mode';
import { checkDuration, checkNonNegative, checkPositive, withoutUndefined } from '../validate';
import type { ReplyMode } from '../reply-mode';
import { RETRY_DEFAULTS, resolveRetryPolicy, type RetryPolicy } from '../retry';
import { resolveConnection, type ConnectionOptions } from '../kafka/client';
import { compileTopicRules, defaultDeadLetterTopic, EPHEMERAL_TOPIC_PREFIX, isValidTopicName, type TopicRule } from '../naming';
import { JSON_CODEC, type Codec } from '../protocol/codec';
import type { WireFormat } from '../protocol/wire';
import type { ReactorOutput } from './types';

/** Everything a Reactor runs on (fusion-clj's `elements`). */
export interface ReactorOptions<T = unknown, R = unknown> {
  /** How to reach Kafka. @defaultValue `{}` (KAFKA_BROKERS, else 127.0.0.1:9092) */
  connection?: ConnectionOptions;
  /** The topic this Reactor consumes. Required; must exist. */
  mainTopic: string;
  /** Consumer group; Reactors sharing it share the main topic's partitions. Required. */
  groupId: string;
  /** Receives `{ message, result }` (or `{ message, error }`) for every message; completed at shutdown. */
  subject?: Subject<ReactorOutput<T, R>>;
  /**
   * How dependency calls get their replies: `'ephemeral'` (a fresh return
   * topic per call, fusion's model) or `'instance'` (one reply topic for this
   * Reactor, created at start; much cheaper per call). A node of a deps map
   * can override it. @defaultValue 'ephemeral'
   */
  replyMode?: ReplyMode;
  /**
   * Ephemeral mode: return topics created ahead, in batches, beyond the calls
   * in flight (up to 16), so that a call does not wait for its topic's
   * creation. Each still serves one call; unused ones are deleted after a
   * minute and at close. 0: every call creates its own. @defaultValue 2
   */
  spareReturnTopics?: number;
  /** Deadline of one dependency call (topic creation, listener, round trip). @defaultValue 30000 */
  callTimeoutMs?: number;
  /**
   * Deadline of one message's whole DAG (every call, procFn excluded), from
   * when the Reactor takes it up. A request that carries its caller's
   * `deadline` is bounded by that too, whichever comes first; past it, calls
   * in flight are aborted and the caller gets a `DeadlineError`.
   * Default: none; only the caller's deadline and callTimeoutMs bound it.
   */
  messageTimeoutMs?: number;
  /**
   * Where a *new* group starts reading the main topic: its beginning (true),
   * or its end as it is when `start()` is called (false: every message
   * written after that is read; kafkajs alone would fix "the end" only after
   * the join, skipping what came in between). A group that has committed
   * offsets resumes from them either way. @defaultValue false
   */
  fromBeginning?: boolean;
  /** Partitions of the main topic handled at once. @defaultValue 1 */
  partitionsConsumedConcurrently?: number;
  /**
   * Consecutive messages of one partition handled at once. Above 1, messages
   * with the same key may finish out of order; offsets are still committed in
   * order (an offset only once all before it are answered or dead-lettered).
   * The messages run at once are taken from one fetched batch: a partition
   * moves on to its next batch when the whole batch is done.
   * @defaultValue 1
   */
  perPartitionConcurrency?: number;
  /** How long shutdown waits for messages in progress. @defaultValue 30000 */
  drainTimeoutMs?: number;
  /** Deadline for joining the main topic's group at start. @defaultValue 60000 */
  joinTimeoutMs?: number;
  /** Consumer session timeout; must exceed the heartbeat interval by 3×. @defaultValue 30000 */
  sessionTimeoutMs?: number;
  /** Prefix of the ephemeral return topics this Reactor creates. @defaultValue `kafka-fusion.reply.` */
  ephemeralTopicPrefix?: string;
  /**
   * Instance mode: read replies from this topic, made by an operator, instead
   * of a topic the library creates at start and deletes at close. For a
   * principal that may not create topics (docs/security.md). One topic per
   * process, outside the return-topic prefix; its listener's consumer group
   * has the topic's name and commits as it reads. @defaultValue none: the
   * library makes `<ephemeralTopicPrefix><uuid>`
   */
  replyTopic?: string;
  /** How long a main-topic fetch waits for data; shutdown waits for the fetch in flight, so this bounds it. @defaultValue 1000 */
  fetchMaxWaitMs?: number;
  /** Fetch wait of ephemeral reply listeners (bounds their shutdown). @defaultValue 100 */
  listenerMaxWaitMs?: number;
  /**
   * Return topics this Reactor will write replies to: a string allows the
   * topics that start with it, a RegExp the topics it matches. A message
   * naming any other `returnTopic` is refused and dead-lettered, never
   * written to, so no message can steer a Reactor to a foreign topic.
   * @defaultValue `['kafka-fusion.reply.']` (kafka-fusion's own return topics)
   */
  returnTopicAllowList?: TopicRule[];
  /**
   * Where messages that cannot be processed go (undecodable, refused return
   * topic, depsFn threw, invalid deps map, failed with nobody to answer),
   * with the reason and their origin in headers (docs/protocol.md). Created
   * at start if missing; never deleted by the library.
   * @defaultValue `<mainTopic>.dlq`
   */
  deadLetterTopic?: string;
  /**
   * Orphaned return topics (left by a process killed mid-call) are swept at
   * start and then every this many ms; 0 turns sweeping off. See `sweepTopics`.
   * @defaultValue 300000
   */
  sweepIntervalMs?: number;
  /** A return topic younger than this is never swept. @defaultValue 300000 */
  sweepOlderThanMs?: number;
  /**
   * A dependency call that fails transiently (a Kafka client error: broker
   * away, leader moving; never a remote error or a timeout) is tried again
   * with capped exponential backoff and jitter, within its `callTimeoutMs`.
   * `{ retries: 0 }` turns it off. @defaultValue `RETRY_DEFAULTS` (3 retries, 100 ms doubling to at most 2 s, ±20 %)
   */
  retry?: Partial<RetryPolicy>;
  /** Told the main-topic partitions this Reactor gained, after each group join. */
  onPartitionsAssigned?: (partitions: number[]) => void;
  /**
   * Told the partitions this Reactor lost: `'rebalance'` when another member
   * took them, `'shutdown'` (all of them) when it stopped, `'lost'` (all of
   * them) when its consumer crashed and kafkajs would not restart it: the
   * Reactor then starts a new one, which joins the group again (told to
   * onError, with backoff from 1 s to 30 s, until it joins).
   */
  onPartitionsRevoked?: (partitions: number[], reason: 'rebalance' | 'shutdown' | 'lost') => void;
  /**
   * Codec of payloads. Requests that come in the `headers` format are read
   * with it when they name its content type (JSON is always read; JSON
   * envelopes too), and answered in kind; this Reactor's dependency calls
   * are encoded with it (a node can choose another). @defaultValue `JSON_CODEC`
   */
  codec?: Codec;
  /**
   * Wire format of dependency calls: `'envelope'` (JSON in the kafka-fusion
   * envelope) or `'headers'` (the payload bare, the envelope's fields in
   * headers; see docs/protocol.md). @defaultValue 'envelope' with the JSON codec, else 'headers'
   */
  wire?: WireFormat;
  /**
   * Write Spring's headers `kafka_correlationId` and `kafka_replyTopic` on
   * envelope requests too, so that a Spring or NestJS service can answer
   * them (the headers format always has them). false saves each round trip
   * encoding and decoding them (40 to 60 µs of CPU measured in one process,
   * 8 to 15 % of instance-mode throughput at 64 in flight; docs/performance.md).
   * @defaultValue true
   */
  interopHeaders?: boolean;
  /** Background failures with no caller to tell (a reply that could not be written...). Default: logs to stderr. */
  onError?: (error: unknown) => void;
}

/** The Reactor options that stay optional once resolved: they have no default. */
export type OptionalReactorOption = 'subject' | 'onPartitionsAssigned' | 'onPartitionsRevoked' | 'messageTimeoutMs' | 'replyTopic';

/** A Reactor's options with every default filled in (`els.options`). */
export type ResolvedReactorOptions<T, R> = Required<Omit<ReactorOptions<T, R>, OptionalReactorOption | 'retry'>> &
  Pick<ReactorOptions<T, R>, OptionalReactorOption> & { retry: RetryPolicy };

/** What a Reactor option is when not given (see ReactorOptions). */
export const REACTOR_DEFAULTS = {
  connection: {},
  callTimeoutMs: 30000,
  replyMode: 'ephemeral' as ReplyMode,
  spareReturnTopics: 2,
  fromBeginning: false,
  partitionsConsumedConcurrently: 1,
  perPartitionConcurrency: 1,
  drainTimeoutMs: 30000,
  joinTimeoutMs: 60000,
  sessionTimeoutMs: 30000,
  ephemeralTopicPrefix: EPHEMERAL_TOPIC_PREFIX,
  fetchMaxWaitMs: 1000,
  listenerMaxWaitMs: 100,
  returnTopicAllowList: [EPHEMERAL_TOPIC_PREFIX] as TopicRule[],
  sweepIntervalMs: 300000,
  sweepOlderThanMs: 300000,
  retry: RETRY_DEFAULTS,
  codec: JSON_CODEC,
  wire: 'envelope' as WireFormat,
  interopHeaders: true,
  /** Logs to stderr. */
  onError: (error: unknown) => console.error('kafka-fusion reactor:', error),
} satisfies Omit<ResolvedReactorOptions<unknown, unknown>, 'mainTopic' | 'groupId' | 'deadLetterTopic'>;

/** Every name ReactorOptions knows. */
const REACTOR_OPTIONS: readonly string[] = [
  ...Object.keys(REACTOR_DEFAULTS),
  'mainTopic',
  'groupId',
  'deadLetterTopic',
  'subject',
  'onPartitionsAssigned',
  'onPartitionsRevoked',
  'messageTimeoutMs',
  'replyTopic',
];

/** Merge defaults (skipping `undefined`), validate, never mutate the input. */
export function resolveReactorOptions<T, R>(options: ReactorOptions<T, R>): ResolvedReactorOptions<T, R> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('elements', 'expected an options object');
  checkKnownOptions(options, REACTOR_OPTIONS);
  const o = { ...REACTOR_DEFAULTS, ...withoutUndefined(options) } as ResolvedReactorOptions<T, R>;
  if (!isValidTopicName(o.mainTopic)) throw new ConfigError('mainTopic', `must be a valid Kafka topic name, got ${JSON.stringify(o.mainTopic)}`);
  o.deadLetterTopic ??= defaultDeadLetterTopic(o.mainTopic);
  if (!isValidTopicName(o.deadLetterTopic))
    throw new ConfigError('deadLetterTopic', `must be a valid Kafka topic name, got ${JSON.stringify(o.deadLetterTopic)}`);
  if (o.replyTopic !== undefined) {
    if (!isValidTopicName(o.replyTopic)) throw new ConfigError('replyTopic', `must be a valid Kafka topic name, got ${JSON.stringify(o.replyTopic)}`);
    if (o.replyMode !== 'instance') throw new ConfigError('replyTopic', "is read only in replyMode 'instance'; set replyMode: 'instance' too");
    if (o.replyTopic === o.mainTopic || o.replyTopic === o.deadLetterTopic)
      throw new ConfigError('replyTopic', 'must differ from mainTopic and deadLetterTopic');
  }
  if (o.deadLetterTopic === o.mainTopic) throw new ConfigError('deadLetterTopic', 'must differ from mainTopic (a dead letter would be read again)');
  if (!Array.isArray(o.returnTopicAllowList) || o.returnTopicAllowList.some((r) => !(typeof r === 'string' && r.length > 0) && !(r instanceof RegExp))) {
    throw new ConfigError('returnTopicAllowList', 'must be an array of topic prefixes (non-empty strings) and RegExps');
  }
  o.returnTopicAllowList = [...compileTopicRules(o.returnTopicAllowList)];
  o.retry = resolveRetryPolicy('retry', options.retry);
  // Checked here, not at start(): a malformed broker list is a mistake in the options.
  o.connection = resolveConnection(o.connection, 'connection.');
  Object.assign(o, resolveCallEncoding(options, o.interopHeaders));
  if (typeof o.groupId !== 'string' || o.groupId.length === 0) throw new ConfigError('groupId', 'must be a non-empty string');
  for (const k of ['sweepIntervalMs', 'sweepOlderThanMs', 'spareReturnTopics'] as const) checkNonNegative(k, o[k]);
  if (!Number.isInteger(o.spareReturnTopics)) throw new ConfigError('spareReturnTopics', `must be a whole number, got ${o.spareReturnTopics}`);
  if (o.messageTimeoutMs !== undefined) checkDuration('messageTimeoutMs', o.messageTimeoutMs);
  checkReplyMode('replyMode', o.replyMode);
  for (const k of ['callTimeoutMs', 'drainTimeoutMs', 'joinTimeoutMs', 'sessionTimeoutMs', 'fetchMaxWaitMs', 'listenerMaxWaitMs'] as const)
    checkDuration(k, o[k]);
  for (const k of ['partitionsConsumedConcurrently', 'perPartitionConcurrency'] as const) checkPositive(k, o[k]);
  if (!Number.isInteger(o.perPartitionConcurrency))
    throw new ConfigError('perPartitionConcurrency', `must be a whole number, got ${o.perPartitionConcurrency}`);
  if (!isValidTopicName(`${o.ephemeralTopicPrefix}x`)) throw new ConfigError('ephemeralTopicPrefix', 'must be made of Kafka topic characters [a-zA-Z0-9._-]');
  if (o.subject !== undefined && (typeof o.subject !== 'object' || typeof o.subject.next !== 'function'))
    throw new ConfigError('subject', 'must be an RxJS Subject');
  if (typeof o.onError !== 'function') throw new ConfigError('onError', 'must be a function');
  for (const k of ['onPartitionsAssigned', 'onPartitionsRevoked'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'function') throw new ConfigError(k, 'must be a function');
  }
  return o;
}
