import { AuthorizationError, ConfigError, ProtocolError, StateError } from '../errors';
import { attemptDeadline, Requester, requestMessage, type CallOptions, type CallOutcome } from './calls';
import type { GroupConsumer } from '../kafka/consumer';
import type { KafkaClient } from '../kafka/kafka-client';
import { LISTENER_SESSION_TIMEOUT_MS } from './ephemeral';
import { newCorrelationId, newEphemeralTopic } from '../naming';
import type { Producers } from '../kafka/producer';
import type { TopicAdmin } from '../kafka/topics';

export interface InstanceRequesterOptions {
  topicPrefix: string;
  /**
   * An operator's topic to read replies from instead of one this process
   * creates and deletes: it must exist; it is never created or deleted here.
   * Its listener's group is named after it and commits as it reads.
   */
  replyTopic?: string;
  /** Fetch wait of the reply listener; bounds how long its disconnect takes. */
  listenerMaxWaitMs: number;
  /** Deadline of creating the reply topic and joining its group. */
  startTimeoutMs: number;
  onError: (error: unknown) => void;
}

/**
 * Request/reply on one reply topic per process (the fast mode): the topic is
 * created and its listener joined once, at the first call; every call sends
 * its request naming that topic and a fresh correlation id, and the listener
 * hands each reply to the call that waits for it (first reply wins; late,
 * duplicate and foreign replies are counted and dropped). The topic is
 * deleted at close; a process killed before that leaves it to the sweeper,
 * as its name is an ordinary `<prefix><uuid v7>` return topic and its
 * listener's group (named after it) empties within the session timeout.
 */
export class InstanceRequester extends Requester {
  /** This process's reply topic. */
  readonly topic: string;
  /** The reply topic, from the start of its creation until it is deleted. */
  readonly owned = new Set<string>();
  private listener: GroupConsumer | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Values on the reply topic that were not replies at all. */
  malformedReplies = 0;

  private readonly admin: TopicAdmin;
  private readonly producers: Producers;

  constructor(
    private readonly client: KafkaClient,
    private readonly options: InstanceRequesterOptions,
  ) {
    super();
    this.admin = client.admin;
    this.producers = client.producers;
    this.topic = options.replyTopic ?? newEphemeralTopic(options.topicPrefix);
  }

  /** Calls waiting for their reply. */
  get pending(): number {
    return this.replies.pending;
  }

  /** Create the reply topic and join its listener's group. Memoised; a failed start is tried again by the next call. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new StateError('requester is closed'));
    this.starting ??= (async () => {
      const given = this.options.replyTopic !== undefined;
      if (!given) this.owned.add(this.topic);
      const listener = this.client.consumer({
        groupId: this.topic,
        topic: this.topic,
        // A topic of its own is read whole; an operator's from where its group
        // left off (from its end the first time: see below).
        fromBeginning: !given,
        autoCommit: given,
        maxWaitTimeInMs: this.options.listenerMaxWaitMs,
        sessionTimeoutMs: LISTENER_SESSION_TIMEOUT_MS,
        joinTimeoutMs: this.options.startTimeoutMs,
        onCrash: (error, restarting) => {
          if (restarting) return this.options.onError(error);
          // Stopped for good: the next call starts a new listener (and
          // re-creates the topic if a sweeper took it meanwhile).
          this.options.onError(
            error instanceof AuthorizationError
              ? error
              : new StateError(`reply listener of ${this.topic} stopped: ${error.message}; the next call starts a new one`),
          );
          if (this.listener === listener) {
            this.listener = undefined;
            this.starting = undefined;
          }
        },
      });
      try {
        if (given) {
          if (!(await this.admin.present(this.topic, 'Read', 'the replyTopic, which it may not see'))) {
            throw new ConfigError(
              'replyTopic',
              `topic "${this.topic}" does not exist: an operator creates it (kafka-topics --create --topic ${this.topic}), ` +
                'one per process, outside the return-topic prefix',
            );
          }
          // A reply written before the first fetch resolved "latest" would be skipped.
          await this.admin.pinNewGroupAtEnd(this.topic, this.topic, this.options.startTimeoutMs);
        } else if (!(await this.admin.exists(this.topic))) {
          await this.admin.create([{ topic: this.topic }], this.options.startTimeoutMs, { prefix: this.options.topicPrefix });
        }
        this.listener = listener;
        await listener.start(async (message) => {
          try {
            this.replies.deliver(message.value, message.headers);
          } catch (e) {
            if (!(e instanceof ProtocolError)) throw e;
            this.malformedReplies++;
          }
        });
      } catch (e) {
        this.starting = undefined;
        this.listener = undefined;
        await listener.stop().catch(() => undefined);
        throw e;
      }
    })();
    return this.starting;
  }

  call<R = unknown>(topic: string, data: unknown, opts: CallOptions): Promise<CallOutcome<R>> {
    if (this.closing) return Promise.reject(new StateError('requester is closed'));
    return this.calls.run(opts, (o, local, attempt) => this.attempt<R>(topic, data, o, local, attempt));
  }

  private async attempt<R>(
    topic: string,
    data: unknown,
    opts: CallOptions & { deadlineAt: number },
    local: AbortController,
    attempt: number,
  ): Promise<CallOutcome<R>> {
    const started = Date.now();
    const correlationId = newCorrelationId();
    const { race, clear } = attemptDeadline(topic, correlationId, opts, local);
    try {
      await race(this.start());
      const joinedAt = Date.now();
      const reply = this.expectReply<R>(correlationId, topic, opts);
      await race(requestMessage(data, this.topic, correlationId, opts).then((m) => this.producers.send(topic, [m])));
      const result = await race(reply.promise);
      const done = Date.now();
      return {
        result,
        correlationId,
        returnTopic: this.topic,
        timings: { createTopicMs: 0, joinMs: joinedAt - started, roundTripMs: done - joinedAt, totalMs: done - started, retries: attempt },
      };
    } finally {
      this.replies.forget(correlationId);
      clear();
    }
  }

  /** Abort calls in flight, stop the listener, delete the reply topic (unless an operator's). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.calls.abortAll('requester is shutting down');
      await this.starting?.catch(() => undefined);
      try {
        await this.listener?.stop();
      } finally {
        if (this.owned.size > 0) {
          await this.admin.deleteNow([...this.owned]);
          this.owned.clear();
        }
      }
    })();
    return this.closing;
  }
}
