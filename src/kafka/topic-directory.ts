import { UnknownTopicError } from '../errors';

/**
 * Which topics exist, from the cluster's topic list, cached. A write to a
 * topic that does not exist is refused at once: kafkajs would retry it for
 * seconds, log an ERROR per retry, and keep a socket open after disconnect.
 * A topic seen once is trusted until a write to it fails as unknown
 * (`forget`); one not seen is looked up in a listing begun after it was
 * asked for (lookups at the same moment share one), so a topic created just
 * before its first write is found.
 */
export class TopicDirectory {
  private known = new Set<string>();
  private listing: { startedAt: number; names: Promise<Set<string>> } | undefined;

  constructor(
    private readonly listTopics: () => Promise<string[]>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when `topic` exists; rejects with UnknownTopicError when it does not. */
  async check(topic: string): Promise<void> {
    if (this.known.has(topic)) return;
    const askedAt = this.now();
    const joined = this.relist();
    let names = await joined.names;
    // A listing begun before this lookup may predate the topic: ask once more.
    if (!names.has(topic) && joined.startedAt < askedAt) names = await this.relist().names;
    if (!names.has(topic)) throw new UnknownTopicError(topic);
  }

  /** A write to `topic` failed as unknown: look it up again next time. */
  forget(topic: string): void {
    this.known.delete(topic);
  }

  /** One listing at a time; lookups meanwhile share it. */
  private relist(): { startedAt: number; names: Promise<Set<string>> } {
    if (this.listing) return this.listing;
    const listing = {
      startedAt: this.now(),
      names: this.listTopics()
        .then((names) => (this.known = new Set(names)))
        .finally(() => {
          if (this.listing === listing) this.listing = undefined;
        }),
    };
    this.listing = listing;
    return listing;
  }
}
