import { ProtocolError, StateError } from '../errors';
import type { GroupConsumer } from '../kafka/consumer';
import type { KafkaClient } from '../kafka/kafka-client';
import { attemptDeadline, Requester, requestMessage, type CallOptions, type CallOutcome } from './calls';
import { newCorrelationId, newEphemeralTopic } from '../naming';
import { TopicPool } from './topic-pool';
import type { Producers } from '../kafka/producer';
import type { TopicAdmin } from '../kafka/topics';

export type { CallOptions, CallOutcome, CallTimings } from './calls';

export interface EphemeralRequesterOptions {
  topicPrefix: string;
  /** Return topics created ahead, beyond the calls in flight (TopicPool); 0: each call creates its own. */
  spareTopics: number;
  onError: (error: unknown) => void;
  /** Fetch wait of reply listeners; bounds how long their disconnect takes. */
  listenerMaxWaitMs: number;
}

/**
 * A listener of a process that died stays a member of its group, and so
 * keeps its topic safe from the sweeper, until this runs out (kafkajs'
 * default is 30 s). Heartbeats go every 3 s.
 */
export const LISTENER_SESSION_TIMEOUT_MS = 10000;

/** A spare return topic older than this is deleted unused (well inside the sweepers' 5-minute TTL). */
const SPARE_MAX_AGE_MS = 60000;

/**
 * Request/reply on a fresh return topic per call (fusion-clj's model), without
 * fusion-clj's lost-reply bug: the topic is created (leaders awaited) and its
 * listener has joined, reading from the beginning, before the request is
 * sent; a reply can only land where it will be read. The topic is deleted
 * once, in the background, after its listener has left.
 */
export class EphemeralRequester extends Requester {
  /** Return topics created and not yet deleted. */
  readonly owned = new Set<string>();
  private readonly cleanups = new Set<Promise<void>>();
  private closed = false;

  private readonly pool: TopicPool;
  private inFlight = 0;

  private readonly admin: TopicAdmin;
  private readonly producers: Producers;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: EphemeralRequesterOptions,
  ) {
    super();
    this.admin = client.admin;
    this.producers = client.producers;
    this.pool = new TopicPool(this.admin, {
      prefix: options.topicPrefix,
      spare: options.spareTopics,
      max: 16,
      maxAgeMs: SPARE_MAX_AGE_MS,
      own: (topic) => this.owned.add(topic),
      discard: (topic) => this.cleanup(topic, undefined, undefined),
      onError: options.onError,
    });
  }

  call<R = unknown>(topic: string, data: unknown, opts: CallOptions): Promise<CallOutcome<R>> {
    if (this.closed) return Promise.reject(new StateError('requester is closed'));
    // A retry gets a fresh return topic.
    return this.calls.run(opts, (o, local, attempt) => this.run<R>(topic, data, o, local, attempt));
  }

  private async run<R>(
    topic: string,
    data: unknown,
    opts: CallOptions & { deadlineAt: number },
    local: AbortController,
    attempt: number,
  ): Promise<CallOutcome<R>> {
    const started = Date.now();
    const correlationId = newCorrelationId();
    const { race, clear } = attemptDeadline(topic, correlationId, opts, local);
    // A topic that does not exist fails the call at once, before a return topic is spent on it.
    try {
      await race(this.producers.checkTopic(topic));
    } catch (e) {
      clear();
      throw e;
    }
    const spare = this.pool.take(this.inFlight);
    const returnTopic = spare ?? newEphemeralTopic(this.options.topicPrefix);
    let listener: GroupConsumer | undefined;
    let creating: Promise<void> | undefined;
    this.inFlight++;
    try {
      this.owned.add(returnTopic);
      // Encoded before any topic is created: a payload its codec refuses costs no creation (a spare taken for it is deleted).
      const request = await race(requestMessage(data, returnTopic, correlationId, opts));
      const creatingAt = Date.now();
      if (spare === undefined) {
        creating = this.admin.create([{ topic: returnTopic }], opts.timeoutMs, { writable: false, prefix: this.options.topicPrefix });
        await race(creating);
      }
      const createdAt = Date.now();

      const reply = this.expectReply<R>(correlationId, topic, opts);
      listener = this.client.consumer({
        groupId: returnTopic,
        topic: returnTopic,
        fromBeginning: true,
        autoCommit: false,
        maxWaitTimeInMs: this.options.listenerMaxWaitMs,
        sessionTimeoutMs: LISTENER_SESSION_TIMEOUT_MS,
        joinTimeoutMs: opts.timeoutMs,
      });
      await race(
        listener.start(async (message) => {
          try {
            this.replies.deliver(message.value, message.headers);
          } catch (e) {
            reply.reject(e instanceof ProtocolError ? new ProtocolError(`reply from "${topic}" on ${returnTopic}: ${e.message}`) : e);
          }
        }),
      );
      const joinedAt = Date.now();
      await race(this.producers.send(topic, [request]));
      const result = await race(reply.promise);
      const done = Date.now();
      return {
        result,
        correlationId,
        returnTopic,
        timings: {
          createTopicMs: spare === undefined ? createdAt - creatingAt : 0,
          joinMs: joinedAt - createdAt,
          roundTripMs: done - joinedAt,
          totalMs: done - started,
          retries: attempt,
        },
      };
    } finally {
      this.inFlight--;
      this.replies.forget(correlationId);
      clear();
      this.cleanup(returnTopic, creating, listener);
    }
  }

  /** Off the critical path: the listener leaves, then the topic is deleted (once). */
  private cleanup(returnTopic: string, creating: Promise<void> | undefined, listener: GroupConsumer | undefined): void {
    const work = (async () => {
      // A create cut short by the deadline may still complete: let it settle
      // first, or the delete could run before the topic exists and leak it.
      await creating?.catch(() => undefined);
      if (listener) await listener.stop().catch(() => undefined);
      // A create that timed out may still have happened: delete regardless
      // (deletion skips names that do not exist).
      this.admin.scheduleDelete([returnTopic]);
      await this.admin.flush();
      // Still owned if the delete failed: close() tries again.
      if (!this.admin.failedDeletes.has(returnTopic)) this.owned.delete(returnTopic);
    })();
    this.cleanups.add(work);
    void work.finally(() => this.cleanups.delete(work));
  }

  /** Wait until every finished call's topic is gone. */
  async settle(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all([...this.cleanups]);
  }

  /** Abort calls in flight, then delete every topic this requester created. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    // Aborted calls register their cleanup as they settle: wait for both.
    await this.calls.abortAll('requester is shutting down');
    await this.pool.close();
    await this.settle();
    if (this.owned.size > 0) {
      await this.admin.deleteNow([...this.owned]);
      this.owned.clear();
    }
  }
}
