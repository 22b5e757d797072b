import { AuthorizationError, ConfigError, ProtocolError, StateError, TransportError, type FusionError } from '../errors';
import { attemptDeadline, HEARTBEAT_HEADER, Requester, requestMessage, type CallOptions, type CallOutcome } from './calls';
import type { InboundMessage } from '../kafka/consumer';
import type { KafkaClient } from '../kafka/kafka-client';
import type { ReplyReader } from '../kafka/reply-reader';
import { newCorrelationId, newEphemeralTopic } from '../naming';
import type { Producers } from '../kafka/producer';
import type { TopicAdmin } from '../kafka/topics';

export interface InstanceRequesterOptions {
  topicPrefix: string;
  /**
   * An operator's topic to read replies from instead of one this process
   * creates and deletes: it must exist; it is never created or deleted
   * here. It is read from its end at start (replies to an earlier process's
   * calls are of no use to this one).
   */
  replyTopic?: string;
  /** Deadline of creating the reply topic. */
  startTimeoutMs: number;
  /** Replicas of the reply topic this process makes (-1: the brokers' default). */
  replicationFactor: number;
  onError: (error: unknown) => void;
}

/**
 * Request/reply on one reply topic per process (the fast mode): the topic is
 * created and given to the process's reply reader once, at the first call
 * (no consumer group: nothing waits for a group join); every call sends its
 * request naming that topic and a fresh correlation id, and the reader
 * hands each reply to the call that waits for it (first reply wins; late,
 * duplicate and foreign replies are counted and dropped). The topic is
 * deleted at close; a process killed before that leaves it to the sweeper,
 * as its name is an ordinary `<prefix><uuid v7>` return topic: the
 * Transport's heartbeat on it shows other processes' sweepers that it is in
 * use.
 */
export class InstanceRequester extends Requester {
  /** This process's reply topic. */
  readonly topic: string;
  /** The reply topic, from the start of its creation until it is deleted. */
  readonly owned = new Set<string>();
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Its own reply topic is being read (the Transport's heartbeat then writes on it). */
  started = false;
  /** Values on the reply topic that were not replies at all. */
  malformedReplies = 0;

  private readonly admin: TopicAdmin;
  private readonly producers: Producers;

  constructor(
    client: KafkaClient,
    private readonly reader: ReplyReader,
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

  /** A message the reader read on the reply topic. */
  deliver(message: InboundMessage): void {
    if (message.headers[HEARTBEAT_HEADER] !== undefined) return;
    try {
      this.replies.deliver(message.value, message.headers);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.malformedReplies++;
    }
  }

  /** The reader gave the reply topic up (deleted under it, refused): the next call starts again (re-creating it if a sweeper took it). */
  lost(error: FusionError): void {
    this.options.onError(
      error instanceof AuthorizationError
        ? error
        : new StateError(`reply topic ${this.topic} could not be read (${error.message}); the next call starts again`),
    );
    this.starting = undefined;
  }

  /** Create the reply topic (unless an operator's) and start reading it. Memoised; a failed start is tried again by the next call. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new StateError('requester is closed'));
    this.starting ??= (async () => {
      if (this.options.replyTopic !== undefined) {
        if (!(await this.admin.present(this.topic, 'Read', 'the replyTopic, which it may not see'))) {
          throw new ConfigError(
            'replyTopic',
            `topic "${this.topic}" does not exist: an operator creates it (kafka-topics --create --topic ${this.topic}), ` +
              'one per process, outside the return-topic prefix',
          );
        }
        // From its end now: a reply can only follow a request sent after this.
        return this.readFromEnd();
      }
      this.owned.add(this.topic);
      if (await this.admin.exists(this.topic)) {
        // Started before, and lost by the reader (a broker away for long): read it again from its end.
        await this.readFromEnd();
      } else {
        const { ready, failed } = await this.admin.createBatch(
          [this.topic],
          this.options.startTimeoutMs,
          this.options.topicPrefix,
          undefined,
          this.options.replicationFactor,
        );
        const leader = ready.get(this.topic);
        if (leader === undefined) throw failed.get(this.topic) ?? new TransportError(`could not create ${this.topic}`);
        this.reader.add(this.topic, '0', leader);
      }
      this.started = true;
    })().catch((e: unknown) => {
      this.starting = undefined;
      throw e;
    });
    return this.starting;
  }

  /** Hand the reply topic to the reader from its end (partition 0's) as of now. */
  private async readFromEnd(): Promise<void> {
    const { offset, leader } = await this.admin.endOffset(this.topic);
    this.reader.add(this.topic, offset, leader);
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

  /** Abort calls in flight, stop reading, delete the reply topic (unless an operator's). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.calls.abortAll('requester is shutting down');
      await this.starting?.catch(() => undefined);
      this.started = false;
      await this.reader.remove(this.topic);
      if (this.owned.size > 0) {
        await this.admin.deleteNow([...this.owned]);
        this.owned.clear();
      }
    })();
    return this.closing;
  }
}
