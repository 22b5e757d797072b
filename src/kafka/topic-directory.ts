import { UnknownTopicError } from '../errors';

/**
 * Which topics exist, from the cluster's topic list, cached. A write to a
 * topic that does not exist is refused at once: kafkajs would retry it for
 * seconds, log an ERROR per retry, and keep a socket open after disconnect.
 * A topic seen once is trusted until a write to it fails as unknown
 * (`forget`); one not seen is looked up in a listing begun after it was
 * asked for (lookups at the same moment share one), so a topic created just
 * before its first write is found. On a cluster the broker asked may list a
 * topic another broker has just created a moment later: a miss is looked up
 * again after each of `settleMs` (25, 75 and 150 ms) before it is refused.
 */
export class TopicDirectory {
  private known = new Set<string>();
  /** Listings begun so far: a lookup trusts only one begun after it asked. */
  private begun = 0;
  private listing: { seq: number; names: Promise<Set<string>> } | undefined;

  /**
   * @param missing the error for a topic the listings never showed, or
   *   undefined if it exists after all (a topic this principal may not
   *   describe is never listed: the error then names that ACL)
   */
  constructor(
    private readonly listTopics: () => Promise<string[]>,
    private readonly settleMs: readonly number[] = [25, 75, 150],
    private readonly missing: (topic: string) => Promise<Error | undefined> = async (topic) => new UnknownTopicError(topic),
  ) {}

  /** Resolves when `topic` exists; rejects with UnknownTopicError when it does not (an AuthorizationError when it may not be seen). */
  async check(topic: string): Promise<void> {
    if (this.known.has(topic)) return;
    const asked = this.begun;
    const joined = this.relist();
    let names = await joined.names;
    // A listing begun before this lookup may predate the topic: ask once more.
    if (!names.has(topic) && joined.seq <= asked) names = await this.relist().names;
    for (const ms of this.settleMs) {
      if (names.has(topic)) return;
      await new Promise((r) => setTimeout(r, ms));
      names = this.known.has(topic) ? this.known : await this.relist().names;
    }
    if (names.has(topic)) return;
    const error = await this.missing(topic);
    if (error) throw error;
    this.known.add(topic);
  }

  /** A write to `topic` failed as unknown: look it up again next time. */
  forget(topic: string): void {
    this.known.delete(topic);
  }

  /** One listing at a time; lookups meanwhile share it. */
  private relist(): { seq: number; names: Promise<Set<string>> } {
    if (this.listing) return this.listing;
    const listing = {
      seq: ++this.begun,
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
