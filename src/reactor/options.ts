import type { Subject } from 'rxjs';
import { CALLER_DEFAULTS, CALLER_OPTIONS, resolveCallerFields, type CallerOptions } from '../calls/caller';
import { ConfigError } from '../errors';
import { checkKnownOptions } from '../known-options';
import { compileTopicRules, defaultDeadLetterTopic, EPHEMERAL_TOPIC_PREFIX, isValidTopicName, type TopicRule } from '../naming';
import type { RetryPolicy } from '../retry';
import { checkDuration, checkPositive, checkReplicationFactor, withoutUndefined } from '../validate';
import type { ReactorOutput } from './types';

/** Everything a Reactor runs on (fusion-clj's `elements`): the caller options (see CallerOptions) and its own. */
export interface ReactorOptions<T = unknown, R = unknown> extends CallerOptions {
  /** The topic this Reactor consumes. Required; must exist. */
  mainTopic: string;
  /** Consumer group; Reactors sharing it share the main topic's partitions. Required. */
  groupId: string;
  /** Receives `{ message, result }` (or `{ message, error }`) for every message; completed at shutdown. */
  subject?: Subject<ReactorOutput<T, R>>;
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
  /** How long a main-topic fetch waits for data; shutdown waits for the fetch in flight, so this bounds it. @defaultValue 1000 */
  fetchMaxWaitMs?: number;
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
   * Replicas of the dead-letter topic when this Reactor creates it (-1: the
   * brokers' `default.replication.factor`). A dead letter is the only copy of
   * a message that could not be handled: on a cluster, give it the
   * replication of the main topic. @defaultValue -1
   */
  deadLetterReplicationFactor?: number;
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
}

/** The Reactor options that stay optional once resolved: they have no default. */
export type OptionalReactorOption = 'subject' | 'onPartitionsAssigned' | 'onPartitionsRevoked' | 'messageTimeoutMs' | 'replyTopic';

/** A Reactor's options with every default filled in (`els.options`). */
export type ResolvedReactorOptions<T, R> = Required<Omit<ReactorOptions<T, R>, OptionalReactorOption | 'retry'>> &
  Pick<ReactorOptions<T, R>, OptionalReactorOption> & { retry: RetryPolicy };

/** What a Reactor option is when not given (see ReactorOptions; the caller options' are CALLER_DEFAULTS). */
export const REACTOR_DEFAULTS = {
  ...CALLER_DEFAULTS,
  fromBeginning: false,
  deadLetterReplicationFactor: -1,
  partitionsConsumedConcurrently: 1,
  perPartitionConcurrency: 1,
  drainTimeoutMs: 30000,
  joinTimeoutMs: 60000,
  sessionTimeoutMs: 30000,
  fetchMaxWaitMs: 1000,
  returnTopicAllowList: [EPHEMERAL_TOPIC_PREFIX] as TopicRule[],
  /** Logs to stderr. */
  onError: (error: unknown) => console.error('kafka-fusion reactor:', error),
} satisfies Omit<ResolvedReactorOptions<unknown, unknown>, 'mainTopic' | 'groupId' | 'deadLetterTopic'>;

/** Every name ReactorOptions knows. */
const REACTOR_OPTIONS: readonly string[] = [
  ...new Set([
    ...CALLER_OPTIONS,
    ...Object.keys(REACTOR_DEFAULTS),
    'mainTopic',
    'groupId',
    'deadLetterTopic',
    'subject',
    'onPartitionsAssigned',
    'onPartitionsRevoked',
    'messageTimeoutMs',
  ]),
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
  if (o.deadLetterTopic === o.mainTopic) throw new ConfigError('deadLetterTopic', 'must differ from mainTopic (a dead letter would be read again)');
  if (!Array.isArray(o.returnTopicAllowList) || o.returnTopicAllowList.some((r) => !(typeof r === 'string' && r.length > 0) && !(r instanceof RegExp))) {
    throw new ConfigError('returnTopicAllowList', 'must be an array of topic prefixes (non-empty strings) and RegExps');
  }
  o.returnTopicAllowList = [...compileTopicRules(o.returnTopicAllowList)];
  if (typeof o.groupId !== 'string' || o.groupId.length === 0) throw new ConfigError('groupId', 'must be a non-empty string');
  resolveCallerFields(o, options);
  if (o.replyTopic !== undefined && (o.replyTopic === o.mainTopic || o.replyTopic === o.deadLetterTopic))
    throw new ConfigError('replyTopic', 'must differ from mainTopic and deadLetterTopic');
  checkReplicationFactor('deadLetterReplicationFactor', o.deadLetterReplicationFactor);
  if (o.messageTimeoutMs !== undefined) checkDuration('messageTimeoutMs', o.messageTimeoutMs);
  for (const k of ['drainTimeoutMs', 'joinTimeoutMs', 'sessionTimeoutMs', 'fetchMaxWaitMs'] as const) checkDuration(k, o[k]);
  for (const k of ['partitionsConsumedConcurrently', 'perPartitionConcurrency'] as const) checkPositive(k, o[k]);
  if (!Number.isInteger(o.perPartitionConcurrency))
    throw new ConfigError('perPartitionConcurrency', `must be a whole number, got ${o.perPartitionConcurrency}`);
  if (o.subject !== undefined && (typeof o.subject !== 'object' || typeof o.subject.next !== 'function'))
    throw new ConfigError('subject', 'must be an RxJS Subject');
  for (const k of ['onPartitionsAssigned', 'onPartitionsRevoked'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'function') throw new ConfigError(k, 'must be a function');
  }
  return o;
}
