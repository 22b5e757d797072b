/**
 * What a Reactor and a Pipeline share as callers: the options of how they
 * reach Kafka and how their calls get replies, their defaults (stated once)
 * and their checks (one resolver). Each adds its own on top.
 */
import { ConfigError } from '../errors';
import { resolveConnection, type ConnectionOptions } from '../kafka/client';
import { EPHEMERAL_TOPIC_PREFIX, isValidTopicName } from '../naming';
import { resolveCallEncoding } from '../options';
import { JSON_CODEC, type Codec } from '../protocol/codec';
import type { WireFormat } from '../protocol/wire';
import { checkReplyMode, type ReplyMode } from '../reply-mode';
import { RETRY_DEFAULTS, resolveRetryPolicy, type RetryPolicy } from '../retry';
import { checkDuration, checkNonNegative, checkReplicationFactor } from '../validate';

/** The options of every caller: a Reactor's dependency calls, a Pipeline's requests. */
export interface CallerOptions {
  /** How to reach Kafka. @defaultValue `{}` (KAFKA_BROKERS, else 127.0.0.1:9092) */
  connection?: ConnectionOptions;
  /**
   * Deadline of one call: a Reactor's dependency call, or a Pipeline's
   * request unless it gives its own `timeoutMs` (waiting for a return topic,
   * round trip, retries). @defaultValue 30000
   */
  callTimeoutMs?: number;
  /**
   * How calls get their replies: `'ephemeral'` (a fresh return topic per
   * call, fusion's model) or `'instance'` (one reply topic for this process,
   * created at start; much cheaper per call). A node of a deps map, or a
   * request, can override it. @defaultValue 'ephemeral'
   */
  replyMode?: ReplyMode;
  /**
   * Ephemeral mode: return topics kept ready ahead of the calls, at the
   * least. They are made in batches (one CreateTopics for many); the stock
   * follows the call rate (up to 512 at once) and shrinks back when calls
   * stop. Each serves one call; unused ones are deleted after a minute and at
   * close. 0: topics are made only for calls that wait for one (still
   * batched together). @defaultValue 2
   */
  spareReturnTopics?: number;
  /**
   * Ephemeral mode: at most this many return topics made per second by this
   * process (calls beyond it wait for their topic). A deleted topic's
   * partition keeps a file and two memory maps open on its broker for
   * `log.segment.delete.delay.ms` (60 s by default), so a broker holds about
   * rate × 60 s of them: at 450 topics/s a broker with 20,000 open files
   * allowed stopped within two minutes. Keep the sum over your processes
   * × 60 under the brokers' open-file limit and half their
   * `vm.max_map_count` (65,530 by default on Linux). 0: no cap.
   * @defaultValue 200
   */
  maxReturnTopicsPerSecond?: number;
  /**
   * Replicas of each return topic this process creates (ephemeral topics and
   * the instance reply topic). -1 takes the brokers' `default.replication.factor`
   * (1 unless the operator changed it). On a cluster, a return topic with one
   * replica is lost with its broker: its call then fails as retriable and is
   * tried again on a fresh topic, within its deadline. 3 keeps it through the
   * loss of a broker, at a cost in creation time (docs/cluster.md measures
   * it). @defaultValue -1
   */
  returnTopicReplicationFactor?: number;
  /** Prefix of the return topics this process creates. @defaultValue `kafka-fusion.reply.` */
  ephemeralTopicPrefix?: string;
  /**
   * Instance mode: read replies from this topic, made by an operator, instead
   * of a topic the library creates at start and deletes at close. For a
   * principal that may not create topics (docs/security.md). One topic per
   * process, outside the return-topic prefix; it is read without a consumer
   * group, from its end at start. @defaultValue none: the library makes
   * `<ephemeralTopicPrefix><uuid>`
   */
  replyTopic?: string;
  /** How long a fetch of the reply reader waits at the broker for a reply to arrive. @defaultValue 100 */
  listenerMaxWaitMs?: number;
  /**
   * Orphaned return topics (left by a process killed mid-call) are swept at
   * start and then every this many ms; 0 turns sweeping off. See `sweepTopics`.
   * @defaultValue 300000
   */
  sweepIntervalMs?: number;
  /** A return topic younger than this is never swept. @defaultValue 300000 */
  sweepOlderThanMs?: number;
  /**
   * A call that fails transiently (a Kafka client error: broker away, leader
   * moving; never a remote error or a timeout) is tried again with capped
   * exponential backoff and jitter, within its deadline. `{ retries: 0 }`
   * turns it off.
   * @defaultValue `RETRY_DEFAULTS` (3 retries, 100 ms doubling to at most 2 s, ±20 %)
   */
  retry?: Partial<RetryPolicy>;
  /**
   * Codec of payloads: what this process writes, and what it reads when the
   * message names the codec's content type (JSON is always read, JSON
   * envelopes too). A node of a deps map, or a message, can choose another.
   * @defaultValue `JSON_CODEC`
   */
  codec?: Codec;
  /**
   * Wire format: `'envelope'` (JSON in the kafka-fusion envelope) or
   * `'headers'` (the payload bare, the envelope's fields in headers; see
   * docs/protocol.md). @defaultValue 'envelope' with the JSON codec, else 'headers'
   */
  wire?: WireFormat;
  /**
   * Write Spring's headers `kafka_correlationId` and `kafka_replyTopic` on
   * envelope requests too, so that a Spring or NestJS service can answer
   * them (the headers format always has them). false saves a little CPU per
   * round trip (docs/performance.md). @defaultValue true
   */
  interopHeaders?: boolean;
  /** Background failures with no caller to tell (a reply that could not be written, a failed sweep...). Default: logs to stderr. */
  onError?: (error: unknown) => void;
}

/** A caller's options with their defaults filled in. */
export type ResolvedCallerOptions = Required<Omit<CallerOptions, 'replyTopic' | 'retry'>> & Pick<CallerOptions, 'replyTopic'> & { retry: RetryPolicy };

/** What a caller option is when not given (onError's default names its owner: see each). */
export const CALLER_DEFAULTS = {
  connection: {},
  callTimeoutMs: 30000,
  replyMode: 'ephemeral' as ReplyMode,
  spareReturnTopics: 2,
  maxReturnTopicsPerSecond: 200,
  returnTopicReplicationFactor: -1,
  ephemeralTopicPrefix: EPHEMERAL_TOPIC_PREFIX,
  listenerMaxWaitMs: 100,
  sweepIntervalMs: 300000,
  sweepOlderThanMs: 300000,
  retry: RETRY_DEFAULTS,
  codec: JSON_CODEC,
  wire: 'envelope' as WireFormat,
  interopHeaders: true,
} satisfies Omit<ResolvedCallerOptions, 'onError'>;

/** Every name CallerOptions knows. */
export const CALLER_OPTIONS: readonly string[] = [...Object.keys(CALLER_DEFAULTS), 'replyTopic', 'onError'];

/**
 * Check and complete the caller fields of `o` (already merged with the
 * defaults) in place: connection, retry policy and encoding resolved,
 * every other field checked. `given` is what the user passed.
 */
export function resolveCallerFields(o: ResolvedCallerOptions, given: CallerOptions): void {
  if (o.replyTopic !== undefined) {
    if (!isValidTopicName(o.replyTopic)) throw new ConfigError('replyTopic', `must be a valid Kafka topic name, got ${JSON.stringify(o.replyTopic)}`);
    if (o.replyMode !== 'instance') throw new ConfigError('replyTopic', "is read only in replyMode 'instance'; set replyMode: 'instance' too");
  }
  for (const k of ['callTimeoutMs', 'listenerMaxWaitMs'] as const) checkDuration(k, o[k]);
  for (const k of ['sweepIntervalMs', 'sweepOlderThanMs', 'spareReturnTopics', 'maxReturnTopicsPerSecond'] as const) checkNonNegative(k, o[k]);
  checkReplicationFactor('returnTopicReplicationFactor', o.returnTopicReplicationFactor);
  if (!Number.isInteger(o.spareReturnTopics)) throw new ConfigError('spareReturnTopics', `must be a whole number, got ${o.spareReturnTopics}`);
  if (!isValidTopicName(`${o.ephemeralTopicPrefix}x`)) throw new ConfigError('ephemeralTopicPrefix', 'must be made of Kafka topic characters [a-zA-Z0-9._-]');
  if (typeof o.onError !== 'function') throw new ConfigError('onError', 'must be a function');
  checkReplyMode('replyMode', o.replyMode);
  o.retry = resolveRetryPolicy('retry', given.retry);
  // Checked here, not at start(): a malformed broker list is a mistake in the options.
  o.connection = resolveConnection(o.connection, 'connection.');
  Object.assign(o, resolveCallEncoding(given, o.interopHeaders));
}
