import { AuthorizationError, ProtocolError, StateError, TransportError, type FusionError } from '../errors';
import type { InboundMessage } from '../kafka/consumer';
import type { KafkaClient } from '../kafka/kafka-client';
import type { ReplyReader } from '../kafka/reply-reader';
import { attemptDeadline, HEARTBEAT_HEADER, Requester, requestMessage, type CallOptions, type CallOutcome } from './calls';
import { newCorrelationId } from '../naming';
import { TopicPool } from './topic-pool';
import type { Producers } from '../kafka/producer';
import type { TopicAdmin } from '../kafka/topics';

export type { CallOptions, CallOutcome, CallTimings } from './calls';

export interface EphemeralRequesterOptions {
  topicPrefix: string;
  /** Return topics kept ready ahead of the calls, at the least (TopicPool); 0: made only for calls that wait. */
  spareTopics: number;
  /** Return topics made per second at most (0: no cap). */
  maxTopicsPerSecond: number;
  /** Replicas of each return topic (-1: the brokers' default). */
  replicationFactor: number;
  onError: (error: unknown) => void;
}

/** A ready return topic older than this is deleted unused (well inside the sweepers' 5-minute TTL). */
const SPARE_MAX_AGE_MS = 60000;

/** At most this many return topics in one CreateTopics. */
const MAX_BATCH = 512;

/** Deadline of one batch of return topics, leaders included. */
const CREATE_TIMEOUT_MS = 30000;

/** A call waiting on its return topic: how to fail it if the topic is lost under the reader. */
interface Waiting {
  topic: string;
  fail: (error: unknown) => void;
}

/**
 * Request/reply on a fresh return topic per call (fusion-clj's model), without
 * fusion-clj's lost-reply bug: the topic exists, its leader known, and the
 * process's reply reader reads it from offset 0 before the request is sent,
 * so a reply can only land where it will be read. No consumer group: the
 * reader fetches many return topics in one request. Topics are made in
 * batches ahead of the calls (TopicPool) and deleted in batches once their
 * call has ended (one DeleteTopics for all calls ended meanwhile).
 */
export class EphemeralRequester extends Requester {
  /** Return topics created and not yet deleted. */
  readonly owned = new Set<string>();
  private readonly cleanups = new Set<Promise<void>>();
  private readonly waiting = new Map<string, Waiting>();
  private closed = false;

  readonly pool: TopicPool;

  private readonly admin: TopicAdmin;
  private readonly producers: Producers;

  constructor(
    client: KafkaClient,
    private readonly reader: ReplyReader,
    options: EphemeralRequesterOptions,
  ) {
    super();
    this.admin = client.admin;
    this.producers = client.producers;
    this.pool = new TopicPool(this.admin, {
      prefix: options.topicPrefix,
      spare: options.spareTopics,
      maxPerSecond: options.maxTopicsPerSecond,
      replicationFactor: options.replicationFactor,
      maxBatch: MAX_BATCH,
      maxAgeMs: SPARE_MAX_AGE_MS,
      createTimeoutMs: CREATE_TIMEOUT_MS,
      own: (topic) => this.owned.add(topic),
      discard: (topic) => this.cleanup(topic, false),
      onError: options.onError,
    });
  }

  /** A message the reader read on one of this requester's return topics. */
  deliver(message: InboundMessage): void {
    if (message.headers[HEARTBEAT_HEADER] !== undefined) return;
    const w = this.waiting.get(message.topic);
    try {
      this.replies.deliver(message.value, message.headers);
    } catch (e) {
      w?.fail(e instanceof ProtocolError ? new ProtocolError(`reply from "${w.topic}" on ${message.topic}: ${e.message}`) : e);
    }
  }

  /** Return topics of calls waiting for their reply. */
  get inUse(): string[] {
    return [...this.waiting.keys()];
  }

  /** The reader gave up a return topic (deleted under it, refused): its call fails (retriable unless refused). */
  lost(topic: string, error: FusionError): void {
    const w = this.waiting.get(topic);
    w?.fail(error instanceof AuthorizationError ? error : new TransportError(`return topic ${topic} could not be read: ${error.message}`, error));
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
    let returnTopic: string | undefined;
    try {
      // A topic that does not exist fails the call at once, before a return topic is spent on it.
      await race(this.producers.checkTopic(topic));
      const takingAt = Date.now();
      const taking = this.pool.take();
      const ready = await race(taking).catch((e: unknown) => {
        // Given later all the same: deleted unused.
        taking.then((t) => this.cleanup(t.topic, false)).catch(() => undefined);
        throw e;
      });
      returnTopic = ready.topic;
      const gotTopicAt = Date.now();
      const request = await race(requestMessage(data, returnTopic, correlationId, opts));
      const reply = this.expectReply<R>(correlationId, topic, opts);
      this.waiting.set(returnTopic, { topic, fail: reply.reject });
      this.reader.add(returnTopic, '0', ready.leader);
      const readingAt = Date.now();
      await race(this.producers.send(topic, [request]));
      const result = await race(reply.promise);
      const done = Date.now();
      return {
        result,
        correlationId,
        returnTopic,
        timings: {
          createTopicMs: ready.fromStock ? 0 : gotTopicAt - takingAt,
          joinMs: readingAt - gotTopicAt,
          roundTripMs: done - readingAt,
          totalMs: done - started,
          retries: attempt,
        },
      };
    } finally {
      this.replies.forget(correlationId);
      clear();
      if (returnTopic !== undefined) {
        this.waiting.delete(returnTopic);
        this.cleanup(returnTopic, true);
      }
    }
  }

  /** Off the critical path: the reader lets go of the topic (if it read it), then it is deleted in the next batch. */
  private cleanup(returnTopic: string, read: boolean): void {
    const work = (async () => {
      if (read) await this.reader.remove(returnTopic);
      await this.admin.scheduleDelete([returnTopic]);
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
