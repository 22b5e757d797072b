import { AuthorizationError, FusionError, TransportError } from '../errors';
import type { ConnectionOptions } from '../kafka/client';
import { EPHEMERAL_TOPIC_PREFIX, ephemeralTopicTime } from '../naming';
import { type TopicAdmin } from '../kafka/topics';
import { reachableAdmin } from '../kafka/topic-tools';

/** Options of `sweepTopics`. */
export interface SweepOptions {
  /** Which topics are candidates: `<prefix><uuid v7>`. @defaultValue `kafka-fusion.reply.` */
  prefix?: string;
  /**
   * Only topics named longer ago than this, and not written to since, are
   * deleted. Processes write a heartbeat on the return topics they read
   * every third of their own `sweepOlderThanMs` (at most a minute), so it
   * must be the same in every process (or longer here), and exceed the clock
   * skew between machines.
   * @defaultValue 300000
   */
  olderThanMs?: number;
  /** Topics never to delete (those the sweeping process owns). */
  exclude?: Iterable<string>;
}

/** What a sweep takes when not told: kafka-fusion's return topics older than 5 minutes. */
export const SWEEP_DEFAULTS = { prefix: EPHEMERAL_TOPIC_PREFIX, olderThanMs: 300000 } as const;

/** What a sweep did. */
export interface SweepReport {
  /** Topics deleted by this sweep. */
  deleted: string[];
  /** Candidates left alone because they were written to within `olderThanMs` (a process's return topic, with its heartbeat), or could not be asked about. */
  live: string[];
  /** Candidates left alone because they are younger than `olderThanMs`. */
  young: string[];
}

/**
 * Delete orphaned return topics: named `<prefix><uuid v7>`, older than
 * `olderThanMs`, not excluded, and not written to within `olderThanMs`
 * (a live process writes a heartbeat on its instance reply topic every
 * minute; an ephemeral topic lives for one call). A process killed mid-call
 * leaves such topics.
 */
export async function sweepWith(admin: TopicAdmin, options: SweepOptions = {}, now = Date.now()): Promise<SweepReport> {
  const prefix = options.prefix ?? SWEEP_DEFAULTS.prefix;
  const olderThanMs = options.olderThanMs ?? SWEEP_DEFAULTS.olderThanMs;
  const exclude = new Set(options.exclude ?? []);
  const young: string[] = [];
  const old: string[] = [];
  for (const topic of await admin.list(prefix)) {
    const born = ephemeralTopicTime(topic, prefix);
    if (born === undefined || exclude.has(topic)) continue;
    (now - born < olderThanMs ? young : old).push(topic);
  }
  // Only a topic whose leader said "nothing written since" is an orphan: one it could not be asked about (a broker away, a
  // leader moving) is kept, as it may be in use.
  const written = await admin.writtenSince(old, now - olderThanMs);
  const live = old.filter((t) => written.get(t) !== false);
  const orphans = old.filter((t) => written.get(t) === false);
  if (orphans.length > 0) {
    try {
      await admin.deleteNow(orphans);
    } catch (e) {
      // Another sweeper may have deleted some first: what is gone is gone.
      // A refusal is per topic: the others of the request are deleted.
      const left = new Set(await admin.list(prefix));
      if (orphans.some((t) => left.has(t))) throw e instanceof FusionError ? e : new TransportError('sweep could not delete', e);
    }
  }
  return { deleted: orphans, live, young };
}

/** `sweepWith` on a client of its own: the exported `sweepTopics`. */
export async function sweepTopics(options: SweepOptions & { connection?: ConnectionOptions } = {}): Promise<SweepReport> {
  const admin = await reachableAdmin(options.connection);
  try {
    return await sweepWith(admin, options);
  } finally {
    await admin.close();
  }
}

/**
 * Sweeps on a schedule for an owner (a Reactor or a Pipeline): once at
 * start, then every `intervalMs`, never two at once, off every caller's
 * path. Failures go to `onError`; a refused ACL goes there once and ends
 * the sweeping (it deletes only what it may, and says so). `stop()` clears the timer and waits for a
 * sweep in progress.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Topics deleted by this sweeper so far. */
  deletedCount = 0;
  /** Why it stopped sweeping: the broker refused it an ACL (told once to onError). */
  refused: AuthorizationError | undefined;

  constructor(
    private readonly admin: TopicAdmin,
    private readonly options: { intervalMs: number; olderThanMs: number; prefix: string; owned: () => Iterable<string>; onError: (e: unknown) => void },
  ) {}

  start(): void {
    if (this.stopped || this.timer) return;
    this.sweep();
    this.timer = setInterval(() => this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Run one sweep now unless one is running; resolves when it is done. */
  sweep(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= sweepWith(this.admin, { prefix: this.options.prefix, olderThanMs: this.options.olderThanMs, exclude: this.options.owned() })
      .then(
        (report) => void (this.deletedCount += report.deleted.length),
        (e) => {
          if (e instanceof AuthorizationError) {
            // Only an operator's grant changes that: say so once and stop
            // sweeping; nothing else depends on the sweeper.
            this.refused = e;
            clearInterval(this.timer);
            this.timer = undefined;
            this.stopped = true;
            const onPrefix = { ...e, resource: this.options.prefix, pattern: 'prefixed' as const };
            this.options.onError(
              new AuthorizationError(onPrefix, 'to sweep orphaned return topics; the sweeper stops until restart, and sweepIntervalMs: 0 turns it off', e),
            );
            return;
          }
          this.options.onError(e);
        },
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
