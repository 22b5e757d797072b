/**
 * Return topics read without consumer groups: partition 0 of each topic,
 * from the offset it was added at, many topics in one Fetch. No JoinGroup,
 * no SyncGroup, no group left behind, and nothing waits for the broker's
 * `group.initial.rebalance.delay.ms` (3 s by default).
 */
import type { Kafka } from 'kafkajs';
import { TransportError, type FusionError } from '../errors';
import { authorizationError } from './authz';
import type { InboundMessage } from './consumer';
import { append, type DirectLink, type FetchedTopic, type KafkaError, type Lane } from './direct';

export interface ReplyReaderOptions {
  /** How long a fetch waits at the broker for a reply to arrive. */
  maxWaitMs: number;
  /** Every message read, in offset order per topic; must not throw. */
  onMessage: (message: InboundMessage) => void;
  /** A topic the reader stopped reading: deleted under it, or refused. It has been removed. */
  onLost: (topic: string, error: FusionError) => void;
  /** Trouble the reader works around by itself (a broker away, a leader moving), for the logs. */
  onError: (error: FusionError) => void;
}

/** Concurrent fetches per broker, each on its own connection: a topic added while they all wait at the broker waits for the first to return. */
const LANES_PER_BROKER = 3;
/** A topic the brokers do not know (metadata spreading to the broker asked, or deleted) is tried again this long before it is given up. */
const LOST_AFTER_MS = 10000;
/**
 * A topic whose partition has no leader at all (the metadata says so: every
 * replica is offline, as a one-replica return topic is once the cluster has
 * fenced its dead broker) is given up after this long: an ephemeral call is
 * then tried again on a fresh topic, on live brokers, within its deadline;
 * instance mode starts reading its one topic again, which succeeds once its
 * broker is back. A topic with other replicas gets a new leader at that
 * same moment instead.
 */
const LEADERLESS_LOST_MS = 2000;
const RETRY_FIRST_MS = 20;
const REPORT_EVERY_MS = 10000;
const RETRY_MAX_MS = 1000;

/** Partition errors a fetch may meet while leadership moves or a new topic's metadata spreads. */
const TRANSIENT = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'REPLICA_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'KAFKA_STORAGE_ERROR',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'UNKNOWN_TOPIC_ID',
  'OFFSET_NOT_AVAILABLE',
  'NOT_COORDINATOR',
]);

function isTransient(error: KafkaError | undefined): boolean {
  return TRANSIENT.has(error?.type ?? '') || error?.retriable === true || /Connection|Timeout/i.test(error?.name ?? '');
}

interface Entry {
  topic: string;
  offset: string;
  /** Partition 0's leader, as last learnt; undefined while it is looked up. */
  leader: number | undefined;
  /** Fetches in flight that include it. */
  inFlight: number;
  /** Not fetched before then (after an error). */
  retryAt: number;
  failures: number;
  /** Since when its fetches fail (0: they do not). */
  failingSince: number;
  /** Since when the metadata gives its partition no leader (0: it has one). */
  leaderlessSince: number;
  removed: boolean;
  /** Bumped when the topic is added again: an older fetch's answer is then ignored. */
  generation: number;
  /** Fetched alone (a request-level failure is being narrowed down to the topic that caused it). */
  alone: boolean;
  /** Resolves remove() once no fetch includes it. */
  drained: (() => void)[];
}

interface Node {
  id: number;
  lanes: Lane[];
  idle: Lane[];
  opening: number;
}

/**
 * One reader for all of a process's return topics. `add` a topic before its
 * request is sent (a reply is read from the offset given, 0 for a fresh
 * topic, so none is missed), `remove` it when its call ends and wait for that
 * before deleting it (no fetch then names it).
 */
export class ReplyReader {
  private readonly entries = new Map<string, Entry>();
  private readonly nodes = new Map<number, Node>();
  private readonly lookups = new Set<string>();
  private looking: Promise<void> | undefined;
  private pumping = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Fetch requests sent (for the benchmark and tests). */
  fetches = 0;
  private reportedAt = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly link: DirectLink,
    private readonly options: ReplyReaderOptions,
  ) {}

  /** Topics being read. */
  get size(): number {
    return this.entries.size;
  }

  /** Read `topic` from `offset`; `leader` when the caller knows it (a topic it just created), else it is looked up. */
  add(topic: string, offset = '0', leader?: number): void {
    if (this.closed) throw new TransportError(`reply reader is closed; cannot read "${topic}"`, undefined, false);
    const known = this.entries.get(topic);
    if (known && !known.removed) return;
    if (known) {
      // Given up (or being removed) and added again while a fetch still names it: the same entry, read afresh from `offset`.
      for (const d of known.drained.splice(0)) d();
      Object.assign(known, {
        offset,
        leader,
        retryAt: 0,
        failures: 0,
        failingSince: 0,
        leaderlessSince: 0,
        removed: false,
        alone: false,
        generation: known.generation + 1,
      });
    } else {
      this.entries.set(topic, {
        topic,
        offset,
        leader,
        inFlight: 0,
        retryAt: 0,
        failures: 0,
        failingSince: 0,
        leaderlessSince: 0,
        removed: false,
        generation: 0,
        alone: false,
        drained: [],
      });
    }
    if (leader === undefined) this.lookUp(topic);
    else this.schedule();
  }

  /** Stop reading `topic`; resolves once no fetch in flight names it (it may then be deleted). */
  remove(topic: string): Promise<void> {
    const e = this.entries.get(topic);
    if (!e) return Promise.resolve();
    e.removed = true;
    if (e.inFlight === 0) {
      this.entries.delete(topic);
      return Promise.resolve();
    }
    return new Promise((resolve) => e.drained.push(resolve));
  }

  /** Trouble it works around, told at most once in REPORT_EVERY_MS. */
  private report(error: FusionError): void {
    const now = Date.now();
    if (this.closed || now - this.reportedAt < REPORT_EVERY_MS) return;
    this.reportedAt = now;
    try {
      this.options.onError(error);
    } catch {
      // the owner's callback failed; the reader goes on
    }
  }

  /** Run the pump soon, once for everything added in this tick. */
  private schedule(delayMs = 0): void {
    if (this.closed) return;
    if (delayMs > 0) {
      if (this.timer) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, delayMs);
      this.timer.unref();
      return;
    }
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.pump();
    });
  }

  /** Start a fetch on every broker that has topics no fetch covers, where a lane is free. */
  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    const due = new Map<number, Entry[]>();
    let nextRetry = Infinity;
    for (const e of this.entries.values()) {
      if (e.removed || e.inFlight > 0 || e.leader === undefined) continue;
      if (e.retryAt > now) {
        nextRetry = Math.min(nextRetry, e.retryAt);
        continue;
      }
      if (e.alone) {
        this.fetchFrom(e.leader, [e]);
        continue;
      }
      append(due, e.leader, e);
    }
    for (const [id, list] of due) this.fetchFrom(id, list);
    if (nextRetry < Infinity) this.schedule(Math.max(1, nextRetry - now));
  }

  private fetchFrom(id: number, list: Entry[]): void {
    let node = this.nodes.get(id);
    if (!node) {
      node = { id, lanes: [], idle: [], opening: 0 };
      this.nodes.set(id, node);
    }
    const lane = node.idle.pop();
    if (!lane) {
      if (node.lanes.length + node.opening < LANES_PER_BROKER) this.openLane(node);
      return; // a lane that frees up, or the new one, pumps again
    }
    for (const e of list) e.inFlight++;
    this.fetches++;
    const generations = list.map((e) => e.generation);
    lane
      .fetch(
        list.map((e) => ({ topic: e.topic, offset: e.offset })),
        this.options.maxWaitMs,
      )
      .then(
        (answers) => this.fetched(node, lane, list, generations, answers),
        (error: unknown) => this.failed(node, lane, list, error),
      )
      .catch((error: unknown) => this.report(new TransportError('reply reader failed to handle a fetch', error, false)));
  }

  private openLane(node: Node): void {
    node.opening++;
    this.link.lane(node.id).then(
      (lane) => {
        node.opening--;
        if (this.closed) return void lane.close().catch(() => undefined);
        node.lanes.push(lane);
        node.idle.push(lane);
        this.schedule();
      },
      (error: unknown) => {
        node.opening--;
        // The broker may have gone: its topics' leaders are looked up again (and a moment later the lane is tried again).
        this.report(new TransportError(`reply reader could not connect to broker ${node.id}`, error));
        const now = Date.now();
        const stranded = [...this.entries.values()].filter((e) => e.leader === node.id && !e.removed);
        for (const e of stranded) this.trouble(e, error as KafkaError, now);
        this.relocate(stranded.filter((e) => !e.removed));
      },
    );
  }

  private release(node: Node, lane: Lane, list: Entry[]): void {
    if (!this.closed && node.lanes.includes(lane)) node.idle.push(lane);
    for (const e of list) {
      e.inFlight--;
      if (e.removed && e.inFlight === 0) {
        this.entries.delete(e.topic);
        for (const d of e.drained.splice(0)) d();
      }
    }
    // After the replies just delivered have ended their calls (their topics are then removed, not fetched again).
    this.schedule();
  }

  private fetched(node: Node, lane: Lane, list: Entry[], generations: number[], answers: FetchedTopic[]): void {
    try {
      this.take(list, generations, answers);
    } finally {
      this.release(node, lane, list);
    }
  }

  private take(list: Entry[], generations: number[], answers: FetchedTopic[]): void {
    const now = Date.now();
    const troubled: Entry[] = [];
    const asked = new Map(list.map((e, i) => [e.topic, { e, generation: generations[i] }]));
    for (const a of answers) {
      const e = this.entries.get(a.topic);
      // Removed, or added again since this fetch was sent (its offset is the new one's): not this fetch's to read.
      if (!e || e.removed || asked.get(a.topic)?.e !== e || asked.get(a.topic)?.generation !== e.generation) continue;
      e.alone = false;
      if (a.error) {
        troubled.push(e);
        this.trouble(e, a.error, now);
        continue;
      }
      e.failures = 0;
      e.failingSince = 0;
      e.leaderlessSince = 0;
      e.offset = a.nextOffset;
      for (const m of a.messages) {
        try {
          this.options.onMessage({ topic: a.topic, partition: 0, offset: m.offset, key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp });
        } catch (error) {
          this.report(new TransportError(`a reply read on "${a.topic}" could not be handled`, error, false));
        }
      }
    }
    this.relocate(troubled.filter((e) => !e.removed && this.entries.has(e.topic)));
  }

  private failed(node: Node, lane: Lane, list: Entry[], error: unknown): void {
    // The connection is suspect: drop the lane; its topics are tried again on another, after a pause.
    node.lanes = node.lanes.filter((l) => l !== lane);
    node.idle = node.idle.filter((l) => l !== lane);
    void lane.close().catch(() => undefined);
    try {
      this.report(new TransportError(`reply reader's fetch from broker ${node.id} failed; trying again`, error));
      if (list.length === 1 && list[0]!.alone && !isTransient(error as KafkaError)) {
        // Narrowed down: this topic's data is what fails the fetch (a reply the client cannot decode).
        this.lose(list[0]!, new TransportError(`reply reader cannot read "${list[0]!.topic}"`, error, false));
        return;
      }
      for (const e of list) {
        // A request-level failure says nothing of one topic: waited out, and a failure that is not about the connection
        // is narrowed down by fetching each topic alone.
        if (!isTransient(error as KafkaError)) e.alone = list.length > 1;
        this.backOff(e, Date.now());
      }
      this.relocate(list.filter((e) => !e.removed));
    } finally {
      this.release(node, lane, list);
    }
  }

  /** Wait before the next fetch of a topic that failed. */
  private backOff(e: Entry, now: number): void {
    e.failures++;
    e.failingSince ||= now;
    e.retryAt = now + Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (e.failures - 1));
  }

  /** Back off a topic whose fetch failed; give it up when the failure is for good. */
  private trouble(e: Entry, error: KafkaError, now: number): void {
    this.backOff(e, now);
    const refused = authorizationError(this.kafka, error, { topic: { operation: 'Read', resource: e.topic, pattern: 'literal' } }, 'to read its replies');
    if (refused) return this.lose(e, refused);
    const transient = isTransient(error);
    // A broker away or a leader moving is waited out (a call's deadline ends its own wait); a topic unknown for this long is gone.
    const gone = error.type === 'UNKNOWN_TOPIC_OR_PARTITION' || error.type === 'UNKNOWN_TOPIC_ID';
    if (!transient || (gone && now - e.failingSince >= LOST_AFTER_MS)) {
      this.lose(e, new TransportError(`reply reader gave up "${e.topic}" after ${now - e.failingSince} ms of failed fetches`, error));
    } else if (e.leaderlessSince > 0 && now - e.leaderlessSince >= LEADERLESS_LOST_MS) {
      this.lose(e, new TransportError(`reply reader gave up "${e.topic}": no replica of it has been online for ${now - e.leaderlessSince} ms`, error));
    }
  }

  private lose(e: Entry, error: FusionError): void {
    if (e.removed) return;
    e.removed = true;
    if (e.inFlight === 0) this.entries.delete(e.topic);
    try {
      this.options.onLost(e.topic, error);
    } catch {
      // the owner's callback failed; the reader goes on
    }
  }

  /** Look up the leaders of these topics again (batched with any other lookup due). */
  private relocate(list: Entry[]): void {
    for (const e of list) {
      e.leader = undefined;
      this.lookUp(e.topic);
    }
  }

  private lookUp(topic: string): void {
    this.lookups.add(topic);
    if (this.looking || this.closed) return;
    this.looking = (async () => {
      while (this.lookups.size > 0 && !this.closed) {
        const topics = [...this.lookups];
        this.lookups.clear();
        let again = false;
        let located = false;
        try {
          const leaders = await this.link.leaders(topics);
          const now = Date.now();
          for (const t of topics) {
            const e = this.entries.get(t);
            if (!e || e.removed) continue;
            const found = leaders.get(t);
            if (found?.leader !== undefined) {
              e.leader = found.leader;
              e.leaderlessSince = 0;
              located = true;
              continue;
            }
            if (found?.error?.type === 'LEADER_NOT_AVAILABLE') e.leaderlessSince ||= now;
            // Not known yet (a broker behind on metadata) or gone: tried again until LOST_AFTER_MS.
            this.trouble(e, found?.error ?? (new Error('no leader') as KafkaError), now);
            if (!e.removed) again = true;
          }
        } catch (error) {
          this.report(new TransportError('reply reader could not look up its topics\u2019 leaders; trying again', error));
          const now = Date.now();
          for (const t of topics) {
            const e = this.entries.get(t);
            if (!e || e.removed) continue;
            this.trouble(e, error as KafkaError, now);
            if (!e.removed) again = true;
          }
        }
        // Topics found a leader: fetched now, not once every other lookup is done.
        if (located) this.schedule();
        if (again) {
          for (const t of topics) if (this.entries.get(t)?.removed === false && this.entries.get(t)!.leader === undefined) this.lookups.add(t);
          await new Promise((r) => setTimeout(r, RETRY_FIRST_MS * 5));
        }
      }
    })().finally(() => {
      this.looking = undefined;
      const next = this.lookups.values().next();
      if (!next.done) this.lookUp(next.value);
      this.schedule();
    });
  }

  /** Stop reading everything, close the lanes (a fetch waiting at the broker ends within its wait). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const lanes = [...this.nodes.values()].flatMap((n) => n.lanes);
    this.nodes.clear();
    await Promise.all(lanes.map((l) => l.close().catch(() => undefined)));
    await this.looking?.catch(() => undefined);
    for (const e of this.entries.values()) for (const d of e.drained.splice(0)) d();
    this.entries.clear();
  }
}
