import type { Admin, Kafka } from 'kafkajs';
import { AuthorizationError, TransportError, UnknownTopicError, type FusionError } from '../errors';
import { LIBRARY_TOPIC_PREFIX, newEphemeralTopic } from '../naming';
import { authorizationError } from './authz';
import { errorTypes } from './error-types';
import { DirectLink } from './direct';

/** How often `create` looks for the new topics' leaders. */
const LEADER_POLL_MS = 10;

/**
 * A batch of new topics whose leaders stop appearing for this long, after
 * some of them came, is given up on for the topics still waiting: a broker
 * makes a new partition in a few ms, so a pause this long means their broker
 * is down (on a cluster, the controller places new topics on a broker it has
 * not fenced yet, for `broker.session.timeout.ms` after its death), and the
 * next batch is not held up behind them. A batch none of whose topics has
 * come (a slow controller, a single broker restarting) waits its whole
 * deadline: those topics are about to come.
 */
const LEADER_STALL_MS = 5000;

/** How long `offsets` tries again while a partition's leader is settling. */
const OFFSETS_RETRY_MS = 5000;

/** A topic for `ensureTopics`. */
export interface TopicSpec {
  /** Its name. */
  topic: string;
  /** @defaultValue 1 */
  partitions?: number;
  /** Replicas of each partition; -1 takes the brokers' `default.replication.factor`. @defaultValue -1 */
  replicationFactor?: number;
  /** Topic configs, such as `{ 'min.insync.replicas': '2', 'retention.ms': '86400000' }`. @defaultValue none (the brokers' defaults) */
  configs?: Record<string, string>;
}

export interface CreateOptions {
  /**
   * Resolve only once every partition's leader answers (it then takes
   * writes without a retry that could write a batch twice). Return topics,
   * written to only after their request is sent, skip it. @defaultValue true
   */
  writable?: boolean;
  /** The prefix the names share, named in a refusal as the ACL to grant (return topics). */
  prefix?: string;
}

/**
 * Topic administration for one owner (a Reactor, a Pipeline, a script).
 * Deletions are queued and run in the background, batched, once per topic:
 * `deleteTopics` on a topic that is already gone retries for seconds, so it
 * never sits on a caller's critical path.
 */
export class TopicAdmin {
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;
  /** Topics queued for deletion, each with the callers waiting for its batch. */
  private readonly pendingDeletes = new Map<string, (() => void)[]>();
  /** Topics whose background deletion failed (broker away...): their owner must retry, e.g. at close. */
  readonly failedDeletes = new Set<string>();
  private deleting: Promise<void> | undefined;
  private link: DirectLink | undefined;
  private readonly ownsLink: boolean;

  /** `direct`: the client's DirectLink, shared; without it the admin makes its own when first needed. */
  constructor(
    private readonly kafka: Kafka,
    direct?: DirectLink,
  ) {
    this.link = direct;
    this.ownsLink = direct === undefined;
  }

  private get direct(): DirectLink {
    this.link ??= new DirectLink(this.kafka);
    return this.link;
  }

  /**
   * Create topics of one partition in one CreateTopics request, then wait
   * until each one's leader answers for it (it then takes writes, and a
   * reply written at once is not retried as a whole produce request): per
   * topic, its leader, or why it is not ready
   * (refused, failed, no leader within `timeoutMs`). A topic in `failed` may
   * exist all the same: its owner deletes it. A broker makes a new
   * partition's log one at a time (a few ms each): `onReady` is told of each
   * topic as soon as it is ready, before the whole batch is.
   */
  async createBatch(
    topics: string[],
    timeoutMs: number,
    prefix: string,
    onReady: (topic: string, leader: number) => void = () => undefined,
    replicationFactor = -1,
  ): Promise<{ ready: Map<string, number>; failed: Map<string, FusionError> }> {
    const ready = new Map<string, number>();
    const failed = new Map<string, FusionError>();
    const refusal = (e: unknown, what: string) => this.failure(e, { topic: { operation: 'Create', resource: prefix, pattern: 'prefixed' } }, what);
    let answers: Map<string, unknown>;
    try {
      answers = await this.direct.createTopics(
        topics.map((topic) => ({ topic, partitions: 1, replicationFactor })),
        timeoutMs,
      );
    } catch (e) {
      const error = refusal(e, `could not create ${topics.length} return topics`);
      for (const t of topics) failed.set(t, error);
      return { ready, failed };
    }
    const waiting = new Set<string>();
    for (const t of topics) {
      const error = answers.has(t) ? answers.get(t) : new Error('the broker did not answer for it');
      if (error && errorTypes(error)[0] !== 'TOPIC_ALREADY_EXISTS') failed.set(t, refusal(error, `could not create ${t}`));
      else waiting.add(t);
    }
    const deadline = Date.now() + timeoutMs;
    let progressAt = Date.now();
    let last: unknown;
    while (waiting.size > 0) {
      try {
        for (const [t, leader] of await this.direct.answering([...waiting])) {
          ready.set(t, leader);
          waiting.delete(t);
          progressAt = Date.now();
          onReady(t, leader);
        }
      } catch (e) {
        last = e;
      }
      if (waiting.size === 0) break;
      const now = Date.now();
      const stalled = ready.size > 0 && now - progressAt >= LEADER_STALL_MS;
      if (now >= deadline || stalled) {
        const error = new TransportError(
          now >= deadline
            ? `created, but no leader answered within ${timeoutMs} ms`
            : `created, but no leader answered for ${now - progressAt} ms (is its broker down?)`,
          last,
        );
        for (const t of waiting) failed.set(t, error);
        break;
      }
      await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
    }
    return { ready, failed };
  }

  private connect(): Promise<Admin> {
    if (this.admin) return Promise.resolve(this.admin);
    this.connecting ??= (async () => {
      // Few retries: admin calls here are either on a caller's deadline
      // (create) or background best effort (delete, swept later).
      const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } });
      try {
        await admin.connect();
      } catch (e) {
        this.connecting = undefined;
        throw new TransportError('admin could not connect', e);
      }
      this.admin = admin;
      return admin;
    })();
    return this.connecting;
  }

  /**
   * Create topics (those that exist already are left as they are) and wait
   * until every partition has a leader, so that a produce or a group join
   * right after succeeds. kafkajs' own `waitForLeaders` polls every 100 ms,
   * and the leader is nearly always there at the first look, so each
   * ephemeral call paid ~100 ms for nothing: this polls metadata every
   * `LEADER_POLL_MS` instead.
   */
  async create(specs: TopicSpec[], timeoutMs = 10000, options: CreateOptions = {}): Promise<void> {
    const admin = await this.connect();
    const names = specs.map((s) => s.topic);
    const deadline = Date.now() + timeoutMs;
    try {
      await admin.createTopics({
        topics: specs.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions ?? 1,
          replicationFactor: s.replicationFactor ?? -1,
          ...(s.configs && { configEntries: Object.entries(s.configs).map(([name, value]) => ({ name, value })) }),
        })),
        waitForLeaders: false,
        timeout: timeoutMs,
      });
    } catch (e) {
      const on =
        options.prefix === undefined ? { resource: names[0]!, pattern: 'literal' as const } : { resource: options.prefix, pattern: 'prefixed' as const };
      throw this.failure(e, { topic: { operation: 'Create', ...on } }, `could not create ${names.join(', ')}`);
    }
    let last: unknown;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        const led = topics.filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        if (led.length === names.length) break;
      } catch (e) {
        last = e; // not in the broker's metadata yet
      }
      if (Date.now() >= deadline) throw new TransportError(`created ${names.join(', ')}, but no leader within ${timeoutMs} ms`, last);
      await new Promise((r) => setTimeout(r, LEADER_POLL_MS));
    }
    // A leader in the metadata may still answer "not the leader" for a
    // moment, and kafkajs then retries a whole produce request: the
    // partitions that had taken it get their messages twice. Once a leader
    // answers ListOffsets, it takes writes.
    if (options.writable ?? true) await Promise.all(names.map((t) => this.offsets(t)));
  }

  /** An AuthorizationError when the broker refused for lack of an ACL, else a TransportError. */
  private failure(e: unknown, asked: Parameters<typeof authorizationError>[2], message: string): FusionError {
    return authorizationError(this.kafka, e, asked, message.replace(/^could not /, 'to ')) ?? new TransportError(message, e);
  }

  /**
   * The error for a topic missing from this client's topic list, or
   * undefined if it exists now: an AuthorizationError when the broker will
   * not describe it to this principal (it may exist, unseen), else an
   * UnknownTopicError; it rejects (retriable) when the broker could not be
   * asked. A client of its own asks: a kafkajs client that asks
   * about a topic asks about it in every metadata refresh afterwards, and
   * fails them all once that topic is refused or gone (kafkajs #1622).
   * `operation` and `what` say what the topic was wanted for.
   */
  async missing(
    topic: string,
    operation = 'Write',
    what = 'to write to it; a topic it may not describe is not even in its topic list',
  ): Promise<FusionError | undefined> {
    const probe = this.kafka.admin({ retry: { retries: 0 } });
    try {
      await probe.connect();
      await probe.fetchTopicMetadata({ topics: [topic] });
      return undefined;
    } catch (e) {
      const refused = authorizationError(this.kafka, e, { topic: { operation, resource: topic, pattern: 'literal' } }, what);
      if (refused) return refused;
      if (errorTypes(e).includes('UNKNOWN_TOPIC_OR_PARTITION')) return new UnknownTopicError(topic);
      throw new TransportError(`could not look up "${topic}"`, e);
    } finally {
      await probe.disconnect().catch(() => undefined);
    }
  }

  /**
   * Rejects with an AuthorizationError when this principal may not create
   * topics named `<prefix>...` (a CreateTopics that only validates: nothing
   * is created, and the broker checks the ACL as for a real one).
   */
  async checkCreate(prefix: string): Promise<void> {
    const admin = await this.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: newEphemeralTopic(prefix), numPartitions: 1, replicationFactor: -1 }],
        validateOnly: true,
        waitForLeaders: false,
      });
    } catch (e) {
      throw this.failure(e, { topic: { operation: 'Create', resource: prefix, pattern: 'prefixed' } }, 'to create return topics');
    }
  }

  /** Names of topics starting with `prefix`. */
  async list(prefix: string = LIBRARY_TOPIC_PREFIX): Promise<string[]> {
    const admin = await this.connect();
    try {
      return (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort();
    } catch (e) {
      throw new TransportError('could not list topics', e);
    }
  }

  /** Per partition: the earliest and next (high watermark) offsets of a topic. */
  async offsets(topic: string): Promise<{ partition: number; low: string; high: string }[]> {
    const admin = await this.connect();
    return this.whileSettling(topic, `could not fetch the offsets of "${topic}"`, async () =>
      (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: p.low, high: p.high })),
    );
  }

  /**
   * Partition 0's end offset and leader, through the direct link: kafkajs's
   * admin would keep asking about the topic in every metadata refresh, and
   * fail them all once it is deleted (kafkajs #1622).
   */
  endOffset(topic: string): Promise<{ leader: number; offset: string }> {
    return this.whileSettling(topic, `could not fetch the end offset of "${topic}"`, () => this.direct.end(topic));
  }

  /**
   * `ask` about a topic, tried again for a few seconds while its leader
   * settles: a topic just created can still answer "not the leader" for a
   * moment after its leader is in the metadata (seen on the single-node test
   * broker), and on a cluster the broker asked may not know a topic another
   * has just made. Anything else fails at once, as `message` (kafkajs gives
   * up at once on anything but an unknown topic).
   */
  private async whileSettling<T>(topic: string, message: string, ask: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + OFFSETS_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await ask();
      } catch (e) {
        const delay = Math.min(50 * 2 ** attempt, 500);
        const settling = (e as { retriable?: unknown }).retriable === true || errorTypes(e).includes('UNKNOWN_TOPIC_OR_PARTITION');
        if (!settling || Date.now() + delay > deadline)
          throw this.failure(e, { topic: { operation: 'Describe', resource: topic, pattern: 'literal' } }, message);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** A group's committed offset per partition of a topic; null where it has committed none. */
  async groupOffsets(groupId: string, topic: string): Promise<Map<number, string | null>> {
    const admin = await this.connect();
    try {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset) < 0 ? null : p.offset]));
    } catch (e) {
      throw this.failure(
        e,
        { group: { operation: 'Describe', resource: groupId, pattern: 'literal' }, topic: { operation: 'Describe', resource: topic, pattern: 'literal' } },
        `could not fetch the offsets of group "${groupId}"`,
      );
    }
  }

  /**
   * Make "start from the end" mean the end *now*: commit the topic's current
   * end offsets for the partitions where the group has committed nothing,
   * before any member of it reads. kafkajs resolves a new group's "latest"
   * only at its first fetch after the join, so a message written before that
   * lookup would be skipped. The commit is made without joining the group
   * (a member's join waits `group.initial.rebalance.delay.ms`, 3 s on a
   * broker with Kafka's defaults): the broker takes a commit from a
   * non-member while the group has no members. Only an empty group is given
   * offsets (live members hold their own positions); a group that gained a
   * member meanwhile refuses the commit, and that member's position stands.
   */
  async pinNewGroupAtEnd(groupId: string, topic: string): Promise<void> {
    const [committed, ends] = await Promise.all([this.groupOffsets(groupId, topic), this.offsets(topic)]);
    const missing = ends.filter((p) => (committed.get(p.partition) ?? null) === null);
    if (missing.length === 0 || (await this.groupsWithMembers([groupId])).has(groupId)) return;
    const asked = {
      group: { operation: 'Read', resource: groupId, pattern: 'literal' as const },
      topic: { operation: 'Read', resource: topic, pattern: 'literal' as const },
    };
    let answers: Map<number, unknown>;
    try {
      answers = await this.direct.commitOffsets(
        groupId,
        topic,
        missing.map((p) => ({ partition: p.partition, offset: p.high })),
      );
    } catch (e) {
      throw this.failure(e, asked, `could not set the start offsets of group "${groupId}"`);
    }
    const failed = [...answers].filter(([, e]) => e !== undefined);
    if (failed.length === 0) return;
    const refused = authorizationError(this.kafka, failed[0]![1], asked, 'to set its start offsets');
    if (refused) throw refused;
    // A member joined meanwhile (the broker refuses a non-member's commit then): its positions stand.
    if ((await this.groupsWithMembers([groupId])).has(groupId)) return;
    throw new TransportError(
      `could not set the start offsets of group "${groupId}": partitions ${failed.map(([p]) => p).join(', ')} of "${topic}" refused them`,
      failed[0]![1],
    );
  }

  /**
   * Per topic, whether it was written to at or after `timestamp` (a reply, or
   * the heartbeat of the process that reads it); absent where that could not
   * be known (see DirectLink.writtenSince).
   */
  async writtenSince(topics: string[], timestamp: number): Promise<Map<string, boolean>> {
    if (topics.length === 0) return new Map();
    try {
      return await this.direct.writtenSince(topics, timestamp);
    } catch (e) {
      throw this.failure(
        e,
        { topic: { operation: 'Describe', resource: topics[0]!, pattern: 'literal' } },
        'could not read when return topics were last written',
      );
    }
  }

  /** Of these consumer groups, those that have members now. */
  async groupsWithMembers(groupIds: string[]): Promise<Set<string>> {
    if (groupIds.length === 0) return new Set();
    const admin = await this.connect();
    try {
      const { groups } = await admin.describeGroups(groupIds);
      return new Set(groups.filter((g) => g.members.length > 0).map((g) => g.groupId));
    } catch (e) {
      throw this.failure(e, { group: { operation: 'Describe', resource: groupIds[0]!, pattern: 'literal' } }, 'could not describe consumer groups');
    }
  }

  /** Delete consumer groups; best effort (a group with members, or already gone, is skipped). */
  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const admin = await this.connect();
    await admin.deleteGroups(groupIds).catch(() => undefined);
  }

  /** How many partitions `topic` has (0 if the broker does not know it). */
  async partitionCount(topic: string): Promise<number> {
    const admin = await this.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0]?.partitions.length ?? 0;
    } catch (e) {
      if ((e as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return 0;
      throw this.failure(e, { topic: { operation: 'Describe', resource: topic, pattern: 'literal' } }, `could not read the metadata of "${topic}"`);
    }
  }

  /** Per partition of `topic`, in partition order: its leader (-1 without one). */
  async partitionLeaders(topic: string): Promise<number[]> {
    return (await this.partitionMetadata(topic)).map((p) => p.leader);
  }

  /** Per partition of `topic`, in partition order: how many replicas it has. */
  async replicaCounts(topic: string): Promise<number[]> {
    return (await this.partitionMetadata(topic)).map((p) => p.replicas.length);
  }

  private async partitionMetadata(topic: string): Promise<{ partitionId: number; leader: number; replicas: number[] }[]> {
    const admin = await this.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return [...(topics[0]?.partitions ?? [])].sort((a, b) => a.partitionId - b.partitionId);
    } catch (e) {
      throw this.failure(e, { topic: { operation: 'Describe', resource: topic, pattern: 'literal' } }, `could not read the metadata of "${topic}"`);
    }
  }

  /** The values of these configs of `topic` (its own, or the brokers' defaults it takes). */
  async topicConfigs(topic: string, names: string[]): Promise<Record<string, string>> {
    const admin = await this.connect();
    try {
      const { resources } = await admin.describeConfigs({
        resources: [{ type: 2 /* TOPIC */, name: topic, configNames: names }],
        includeSynonyms: false,
      });
      return Object.fromEntries((resources[0]?.configEntries ?? []).map((c) => [c.configName, c.configValue]));
    } catch (e) {
      throw this.failure(e, { topic: { operation: 'DescribeConfigs', resource: topic, pattern: 'literal' } }, `could not read the configs of "${topic}"`);
    }
  }

  async exists(topic: string): Promise<boolean> {
    const admin = await this.connect();
    return (await admin.listTopics()).includes(topic);
  }

  /**
   * Whether a topic this client needs for `operation` is there: true if it
   * exists, false if it does not; an AuthorizationError naming `operation`
   * when this principal may not see it (see `missing`).
   */
  async present(topic: string, operation: string, what: string): Promise<boolean> {
    if (await this.exists(topic)) return true;
    const missing = await this.missing(topic, operation, what);
    if (missing instanceof AuthorizationError) throw missing;
    return missing === undefined;
  }

  /**
   * Queue topics for deletion in the background, in one DeleteTopics for
   * all that were queued while the previous one ran. Resolves once these
   * topics' request has been answered (a failure lands in `failedDeletes`
   * and `onDeleteError`); `flush()` waits for the whole queue.
   */
  scheduleDelete(topics: string[]): Promise<void> {
    const done = new Promise<void>((resolve) => {
      if (topics.length === 0) return resolve();
      for (const t of topics) {
        const waiting = this.pendingDeletes.get(t) ?? [];
        waiting.push(resolve);
        this.pendingDeletes.set(t, waiting);
      }
    });
    this.deleting ??= this.drainDeletes().finally(() => {
      this.deleting = undefined;
      if (this.pendingDeletes.size > 0) void this.scheduleDelete([]);
    });
    return done;
  }

  private async drainDeletes(): Promise<void> {
    while (this.pendingDeletes.size > 0) {
      const queued = [...this.pendingDeletes];
      this.pendingDeletes.clear();
      const batch = queued.map(([t]) => t);
      const failed = await this.deleteBatch(batch);
      for (const t of batch) if (!failed.has(t)) this.failedDeletes.delete(t);
      // A topic we could not delete is left to its owner's close (and to
      // the sweeper); report it without failing anybody's call.
      const byError = new Map<FusionError, string[]>();
      for (const [t, e] of failed) {
        this.failedDeletes.add(t);
        byError.set(e, [...(byError.get(e) ?? []), t]);
      }
      for (const [e, topics] of byError) {
        try {
          this.onDeleteError(topics, e);
        } catch {
          // the owner's callback failed; the queue goes on
        }
      }
      for (const [, waiting] of queued) for (const resolve of waiting) resolve();
    }
  }

  /** Called when a background delete fails. */
  onDeleteError: (topics: string[], error: unknown) => void = (topics, error) => {
    console.error(`kafka-fusion: could not delete ${topics.join(', ')}: ${(error as Error).message}`);
  };

  /**
   * Delete topics now, in one DeleteTopics answered per topic by the
   * controller (never by one broker's view of the topic list, which on a
   * cluster may not list a topic another broker has just made); those
   * already gone count as deleted. Rejects with the first failure.
   */
  async deleteNow(topics: string[], timeoutMs = 10000): Promise<void> {
    if (topics.length === 0) return;
    // Never race the background queue on the same topic.
    await this.flush();
    // A broker just back (or a controller moving) may fail a first request: the failures are asked again,
    // a refusal excepted, for up to `timeoutMs`.
    const deadline = Date.now() + timeoutMs;
    let left = topics;
    const failed = new Map<string, FusionError>();
    for (let attempt = 0; ; attempt++) {
      const now = await this.deleteBatch(left, Math.max(1000, deadline - Date.now()));
      for (const t of left) failed.delete(t);
      for (const [t, e] of now) failed.set(t, e);
      left = [...now].filter(([, e]) => !(e instanceof AuthorizationError)).map(([t]) => t);
      const delay = Math.min(100 * 2 ** attempt, 2000);
      if (left.length === 0 || Date.now() + delay >= deadline) break;
      await new Promise((r) => setTimeout(r, delay));
    }
    for (const t of topics) if (!failed.has(t)) this.failedDeletes.delete(t);
    const [first] = failed.values();
    if (first) throw first;
  }

  /**
   * One DeleteTopics request, answered per topic: the topics that could not
   * be deleted, with why. A topic already gone counts as deleted (and is not
   * retried for seconds, as kafkajs's admin would).
   */
  async deleteBatch(topics: string[], timeoutMs = 10000): Promise<Map<string, FusionError>> {
    const failed = new Map<string, FusionError>();
    if (topics.length === 0) return failed;
    const what = (t: string[]) => `could not delete ${t.length > 3 ? `${t.length} topics (${t.slice(0, 3).join(', ')}, ...)` : t.join(', ')}`;
    let answers: Map<string, unknown>;
    try {
      answers = await this.direct.deleteTopics(topics, timeoutMs);
    } catch (e) {
      const error = this.failure(e, { topic: { operation: 'Delete', resource: topics[0]!, pattern: 'literal' } }, what(topics));
      for (const t of topics) failed.set(t, error);
      return failed;
    }
    for (const t of topics) {
      const error = answers.has(t) ? answers.get(t) : new Error('the broker did not answer for it');
      if (!error || errorTypes(error)[0] === 'UNKNOWN_TOPIC_OR_PARTITION') continue;
      failed.set(t, this.failure(error, { topic: { operation: 'Delete', resource: t, pattern: 'literal' } }, what([t])));
    }
    return failed;
  }

  /** Wait until every scheduled deletion has run. */
  async flush(): Promise<void> {
    while (this.deleting) await this.deleting;
  }

  async close(): Promise<void> {
    await this.flush();
    const admin = this.admin ?? (this.connecting ? await this.connecting.catch(() => undefined) : undefined);
    this.admin = undefined;
    this.connecting = undefined;
    if (this.ownsLink) await this.link?.close().catch(() => undefined);
    if (admin) await admin.disconnect();
  }
}
