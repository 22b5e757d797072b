/**
 * kafkajs below its public API: its cluster, broker and protocol layers,
 * which its own consumer and admin are built on, driven directly so that
 * each topic of a request gets its own answer. kafkajs's public calls throw
 * for a whole request when one topic or partition failed (a fetch of 200
 * return topics fails for one that was just deleted), retry a deletion of a
 * missing topic for seconds, and have no group-less fetch (kafkajs #373).
 * kafkajs is pinned at 2.2.4 and no longer maintained, so these layers will
 * not move under us; they are reached only from this file.
 */
import type { Kafka } from 'kafkajs';
import { TransportError } from '../errors';
import type { MessageHeaders } from '../protocol/bytes';

const apiKeys = require('kafkajs/src/protocol/requests/apiKeys') as Record<string, number>;
const { requests } = require('kafkajs/src/protocol/requests') as { requests: Record<string, unknown> };
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => KafkaError };
const Batch = require('kafkajs/src/consumer/batch') as new (
  topic: string,
  fetchedOffset: string,
  partition: FetchedPartition,
) => { messages: RawMessage[]; messagesWithinOffset: RawMessage[] };

/** kafkajs's protocol error: a `type` such as 'NOT_LEADER_OR_FOLLOWER', and whether it is `retriable`. */
export interface KafkaError extends Error {
  type?: string;
  retriable?: boolean;
}

interface ProtocolRequest {
  request: unknown;
  response: { decode: (raw: Buffer) => Promise<unknown>; parse: (decoded: unknown) => Promise<unknown> };
  requestTimeout?: number;
}

interface InternalBroker {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  lookupRequest(apiKey: number, definition: unknown): (args: object) => ProtocolRequest;
  connectionPool: { send(request: ProtocolRequest): Promise<unknown> };
}

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  connectionPoolBuilder: { build(destination?: { host: string; port: number; rack?: string | null }): Promise<unknown> };
  brokerPool: {
    rootLogger: unknown;
    seedBroker: InternalBroker | undefined;
    connect(): Promise<void>;
    createSeedBroker(): Promise<void>;
    createBroker(options: { connectionPool: unknown; logger: unknown; nodeId: number }): InternalBroker;
  };
}

interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: MessageHeaders;
  timestamp: string;
  isControlRecord?: boolean;
}

interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  abortedTransactions?: unknown[];
  messages: RawMessage[];
}

/** A broker of the cluster, as its metadata names it. */
export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
  rack?: string | null;
}

/** A message as a Produce request takes it: text or bytes, headers as kafkajs takes them. */
export interface ProducedMessage {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, unknown>;
  timestamp?: number;
}

/** What a metadata request said of one topic: partition 0's leader (and each partition's), or why there is none. */
export interface TopicLeader {
  leader?: number;
  /** Each partition's leader, where it has one. */
  partitions?: Map<number, number>;
  error?: KafkaError;
}

/** One message read by `fetch`. */
export interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: MessageHeaders;
  timestamp: string;
}

/** What a fetch gave for one topic's partition 0: messages from the offset asked (and the offset to ask next), or an error. */
export interface FetchedTopic {
  topic: string;
  messages: FetchedMessage[];
  /** Where the next fetch of this topic starts. */
  nextOffset: string;
  error?: KafkaError;
}

/** A connection of its own to one broker: a fetch on it waits behind no other request. */
export interface Lane {
  readonly nodeId: number;
  fetch(topics: { topic: string; offset: string }[], maxWaitMs: number): Promise<FetchedTopic[]>;
  close(): Promise<void>;
}

const FETCH_MAX_BYTES = 64 * 1024 * 1024;
const FETCH_PARTITION_MAX_BYTES = 8 * 1024 * 1024;
const READ_COMMITTED = 1;

/**
 * kafkajs's client keeps its cluster factory behind a symbol; a cluster
 * made with it has the client's whole configuration (TLS, SASL, socket
 * factory, logger).
 */
function clusterOf(kafka: Kafka): InternalCluster {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = key && (kafka as unknown as Record<symbol, unknown>)[key];
  if (typeof create !== 'function')
    throw new TransportError('this kafkajs has no cluster factory where 2.2.4 keeps it: pin kafkajs at 2.2.4', undefined, false);
  return (create as (o: object) => InternalCluster)({ allowAutoTopicCreation: false, metadataMaxAge: 300000 });
}

/** Decoded as kafkajs decodes it, but not parsed: kafkajs's parse throws for the whole response at the first failed item. */
async function sendRaw<T>(broker: InternalBroker, apiName: string, args: object): Promise<T> {
  const protocol = broker.lookupRequest(apiKeys[apiName]!, requests[apiName])(args);
  return (await broker.connectionPool.send({
    ...protocol,
    response: { decode: protocol.response.decode, parse: async (decoded) => decoded },
  })) as T;
}

const NOT_CONTROLLER = 41;
/** Coordinator errors a moment cures (a group's coordinator loading, moving, or not elected yet). */
const COORDINATOR_RETRIABLE = new Set([14, 15, 16]);
const COMMIT_RETRY_MS = 30000;

function isConnectionError(e: unknown): boolean {
  const name = (e as Error | undefined)?.name ?? '';
  return (
    name === 'KafkaJSConnectionError' ||
    name === 'KafkaJSConnectionClosedError' ||
    name === 'KafkaJSRequestTimeoutError' ||
    e instanceof TransportError ||
    // kafkajs's broker before its connect has learnt the API versions (another caller's connect under way)
    (e as Error | undefined)?.message === 'Broker not connected'
  );
}

/** Add `value` to the list `key` holds in `map` (made when missing): grouping without copying a list per item. */
export function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function errorOf(code: number): KafkaError | undefined {
  if (code === 0) return undefined;
  return Object.assign(createErrorFromCode(code), { code });
}

/** The protocol's error code of an error made by errorOf (-1 for any other error). */
function codeOf(e: unknown): number {
  return typeof (e as { code?: unknown })?.code === 'number' ? (e as { code: number }).code : -1;
}

/**
 * One kafkajs cluster used directly: metadata, topic creation and deletion
 * answered per topic, and lanes that fetch without a consumer group.
 */
export class DirectLink {
  private readonly cluster: InternalCluster;
  private connecting: Promise<void> | undefined;
  private readonly addresses = new Map<number, BrokerAddress>();
  private replacing: Promise<void> | undefined;
  /** The controller's id, as the last metadata said. */
  private controller: number | undefined;
  /** Connections for short requests (ListOffsets, Produce, topic requests), per broker. */
  private readonly brokers = new Map<number, Promise<InternalBroker>>();

  constructor(kafka: Kafka) {
    this.cluster = clusterOf(kafka);
  }

  /** The seed broker, connected (another from the bootstrap list when it has gone). */
  private async seed(): Promise<InternalBroker> {
    const pool = this.cluster.brokerPool;
    for (let tries = 0; ; tries++) {
      // A connect under way: its socket is up before its API versions are known, and a request then fails.
      await this.connecting?.catch(() => undefined);
      // A seed replaced meanwhile is not connected yet: connect that one.
      if (pool.seedBroker?.isConnected()) return pool.seedBroker;
      if (tries >= 3) throw new TransportError('could not connect to any bootstrap broker', undefined);
      await this.replacing;
      this.connecting ??= pool
        .connect()
        .catch((e: unknown) => {
          throw new TransportError('could not connect to any bootstrap broker', e);
        })
        .finally(() => (this.connecting = undefined));
      await this.connecting;
    }
  }

  /** Another seed broker, once for all the requests that saw `failed` fail (the bootstrap list's next). */
  private async replaceSeed(failed: InternalBroker): Promise<void> {
    if (this.cluster.brokerPool.seedBroker !== failed) return await this.replacing;
    this.replacing ??= this.cluster.brokerPool
      .createSeedBroker()
      .catch(() => undefined)
      .finally(() => (this.replacing = undefined));
    await this.replacing;
  }

  /** A request on the seed broker; once more on another one if the connection failed. */
  private async onSeed<T>(apiName: string, args: object): Promise<T> {
    const broker = await this.seed();
    try {
      return await sendRaw<T>(broker, apiName, args);
    } catch (e) {
      if (!isConnectionError(e)) throw e;
      await this.replaceSeed(broker);
      return sendRaw<T>(await this.seed(), apiName, args);
    }
  }

  /**
   * A topic request for the controller (CreateTopics, DeleteTopics): a
   * ZooKeeper-mode broker that is not the controller answers NOT_CONTROLLER
   * (KRaft brokers forward them), and the request is then asked once more of
   * the controller the metadata names now (a topic created meanwhile answers
   * TOPIC_ALREADY_EXISTS, which counts as made). On the controller's
   * connection of its own, so that lookups on the seed's do not queue behind
   * a slow creation.
   */
  private async onController<T extends { topicErrors: { errorCode: number }[] }>(apiName: string, args: object): Promise<T> {
    const data = await this.onControllerOnce<T>(apiName, args);
    if (!data.topicErrors.some((t) => t.errorCode === NOT_CONTROLLER)) return data;
    this.controller = undefined;
    return this.onControllerOnce<T>(apiName, args);
  }

  private async onControllerOnce<T>(apiName: string, args: object): Promise<T> {
    if (this.controller === undefined) await this.leaders([]);
    const id = this.controller;
    if (id === undefined || id < 0) return this.onSeed<T>(apiName, args);
    try {
      return await sendRaw<T>(await this.shared(id), apiName, args);
    } catch (e) {
      if (!isConnectionError(e)) throw e;
      this.drop(id);
      this.controller = undefined;
      return this.onSeed<T>(apiName, args);
    }
  }

  /** Partition 0's leader of each topic, or the error the broker gave for it (a topic it does not know: UNKNOWN_TOPIC_OR_PARTITION). */
  async leaders(topics: string[]): Promise<Map<string, TopicLeader>> {
    const data = await this.onSeed<{
      controllerId?: number;
      brokers: BrokerAddress[];
      topicMetadata: { topic: string; topicErrorCode: number; partitionMetadata: { partitionId: number; partitionErrorCode: number; leader: number }[] }[];
    }>('Metadata', { topics, allowAutoTopicCreation: false });
    for (const b of data.brokers) this.addresses.set(b.nodeId, b);
    if (data.controllerId !== undefined) this.controller = data.controllerId;
    const out = new Map<string, TopicLeader>();
    for (const t of data.topicMetadata) {
      const p0 = t.partitionMetadata.find((p) => p.partitionId === 0);
      const error = errorOf(t.topicErrorCode) ?? (p0 ? errorOf(p0.partitionErrorCode) : undefined);
      const partitions = new Map(t.partitionMetadata.filter((p) => p.partitionErrorCode === 0 && p.leader >= 0).map((p) => [p.partitionId, p.leader]));
      if (error) out.set(t.topic, { error, partitions });
      else if (p0 && p0.leader >= 0) out.set(t.topic, { leader: p0.leader, partitions });
      else out.set(t.topic, { error: createErrorFromCode(5), partitions }); // LEADER_NOT_AVAILABLE
    }
    for (const t of topics) if (!out.has(t)) out.set(t, { error: createErrorFromCode(3) });
    return out;
  }

  /** Create topics in one request; per topic, undefined or the broker's error. */
  async createTopics(
    specs: { topic: string; partitions: number; replicationFactor: number }[],
    timeoutMs: number,
  ): Promise<Map<string, KafkaError | undefined>> {
    const data = await this.onController<{ topicErrors: { topic: string; errorCode: number; errorMessage?: string | null }[] }>('CreateTopics', {
      topics: specs.map((s) => ({ topic: s.topic, numPartitions: s.partitions, replicationFactor: s.replicationFactor })),
      timeout: timeoutMs,
      validateOnly: false,
    });
    const out = new Map<string, KafkaError | undefined>();
    for (const t of data.topicErrors) {
      const error = errorOf(t.errorCode);
      if (error && t.errorMessage) error.message = `${error.message} (${t.errorMessage})`;
      out.set(t.topic, error);
    }
    return out;
  }

  /** Delete topics in one request; per topic, undefined or the broker's error (UNKNOWN_TOPIC_OR_PARTITION: it was not there). */
  async deleteTopics(topics: string[], timeoutMs: number): Promise<Map<string, KafkaError | undefined>> {
    const data = await this.onController<{ topicErrors: { topic: string; errorCode: number }[] }>('DeleteTopics', { topics, timeout: timeoutMs });
    return new Map(data.topicErrors.map((t) => [t.topic, errorOf(t.errorCode)]));
  }

  /** A new connection of its own to broker `nodeId`, connected. */
  private async connectTo(nodeId: number): Promise<InternalBroker> {
    let address = this.addresses.get(nodeId);
    if (!address) {
      await this.leaders([]);
      address = this.addresses.get(nodeId);
      if (!address) throw new TransportError(`broker ${nodeId} is not in the cluster's metadata`);
    }
    const pool = this.cluster.brokerPool;
    const broker = pool.createBroker({
      connectionPool: await this.cluster.connectionPoolBuilder.build({ host: address.host, port: address.port, rack: address.rack ?? null }),
      logger: pool.rootLogger,
      nodeId,
    });
    await broker.connect();
    return broker;
  }

  /** A new connection to broker `nodeId`, for fetching alone. */
  async lane(nodeId: number): Promise<Lane> {
    const broker = await this.connectTo(nodeId);
    return {
      nodeId,
      fetch: (topics, maxWaitMs) => fetchOn(broker, topics, maxWaitMs),
      close: () => broker.disconnect(),
    };
  }

  /** A connection to broker `nodeId` for short requests, kept for the next ones (dropped when it fails). */
  private shared(nodeId: number): Promise<InternalBroker> {
    let broker = this.brokers.get(nodeId);
    if (!broker) {
      broker = this.connectTo(nodeId);
      this.brokers.set(nodeId, broker);
      broker.catch(() => this.brokers.delete(nodeId));
    }
    return broker;
  }

  /**
   * Partition 0 of each topic at `timestamp` (-1: the end), one ListOffsets
   * per leader: per topic with a leader, that leader and the offset or the
   * error. A topic without a leader is absent.
   */
  private async listOffsets(topics: string[], timestamp: number): Promise<Map<string, { leader: number; offset?: string; error?: KafkaError }>> {
    const byLeader = new Map<number, string[]>();
    for (const [t, found] of await this.leaders(topics)) if (found.leader !== undefined) append(byLeader, found.leader, t);
    const out = new Map<string, { leader: number; offset?: string; error?: KafkaError }>();
    await Promise.all(
      [...byLeader].map(async ([nodeId, list]) => {
        try {
          const broker = await this.shared(nodeId);
          const data = await sendRaw<{ responses: { topic: string; partitions: { partition: number; errorCode: number; offset: string }[] }[] }>(
            broker,
            'ListOffsets',
            { replicaId: -1, isolationLevel: READ_COMMITTED, topics: list.map((topic) => ({ topic, partitions: [{ partition: 0, timestamp }] })) },
          );
          for (const r of data.responses)
            for (const p of r.partitions) {
              if (p.partition !== 0) continue;
              const error = errorOf(p.errorCode);
              out.set(r.topic, { leader: nodeId, ...(error ? { error } : { offset: p.offset }) });
            }
        } catch (e) {
          this.drop(nodeId);
          for (const t of list) out.set(t, { leader: nodeId, error: e as KafkaError });
        }
      }),
    );
    return out;
  }

  /**
   * Write messages to partitions all led by one broker, in one Produce
   * request (acknowledged by every in-sync replica); per `<partition>:<topic>`,
   * undefined or the broker's error. A connection that fails is dropped, and
   * every topic of the request gets its error.
   */
  async produce(
    leader: number,
    batches: { topic: string; partition: number; messages: ProducedMessage[] }[],
    timeoutMs: number,
  ): Promise<Map<string, KafkaError | undefined>> {
    const key = (topic: string, partition: number) => `${partition}:${topic}`;
    const out = new Map<string, KafkaError | undefined>();
    const topicData = new Map<string, { topic: string; partitions: { partition: number; firstSequence: number; messages: ProducedMessage[] }[] }>();
    for (const b of batches) {
      const t = topicData.get(b.topic) ?? { topic: b.topic, partitions: [] };
      t.partitions.push({ partition: b.partition, firstSequence: 0, messages: b.messages });
      topicData.set(b.topic, t);
    }
    try {
      const broker = await this.shared(leader);
      const data = await sendRaw<{ topics: { topicName: string; partitions: { partition: number; errorCode: number }[] }[] }>(broker, 'Produce', {
        acks: -1,
        timeout: timeoutMs,
        compression: 0,
        topicData: [...topicData.values()],
      });
      for (const t of data.topics) for (const p of t.partitions) out.set(key(t.topicName, p.partition), errorOf(p.errorCode));
    } catch (e) {
      this.drop(leader);
      for (const b of batches) out.set(key(b.topic, b.partition), e as KafkaError);
    }
    for (const b of batches)
      if (!out.has(key(b.topic, b.partition))) out.set(key(b.topic, b.partition), new Error('the broker did not answer for it') as KafkaError);
    return out;
  }

  /**
   * Commit offsets for a consumer group without being one of its members
   * (generation -1, no member id): the broker takes such a commit while the
   * group has no members. Per partition of `topic`, undefined or the
   * broker's error. No JoinGroup: nothing waits for
   * `group.initial.rebalance.delay.ms`.
   */
  async commitOffsets(groupId: string, topic: string, offsets: { partition: number; offset: string }[]): Promise<Map<number, KafkaError | undefined>> {
    const deadline = Date.now() + COMMIT_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      const out = await this.commitOnce(groupId, topic, offsets).catch((e: unknown) => e as KafkaError);
      const codes = out instanceof Map ? [...out.values()].filter((e) => e !== undefined) : [out];
      const retriable = codes.length > 0 && codes.every((e) => COORDINATOR_RETRIABLE.has(codeOf(e)) || isConnectionError(e));
      if (!retriable || Date.now() >= deadline) {
        if (out instanceof Map) return out;
        throw out;
      }
      // The group's coordinator is loading, moving or not elected yet (a fresh cluster): ask again.
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
    }
  }

  private async commitOnce(groupId: string, topic: string, offsets: { partition: number; offset: string }[]): Promise<Map<number, KafkaError | undefined>> {
    const found = await this.onSeed<{ errorCode: number; coordinator: BrokerAddress }>('GroupCoordinator', { groupId, coordinatorType: 0 });
    const error = errorOf(found.errorCode);
    if (error) throw error;
    this.addresses.set(found.coordinator.nodeId, found.coordinator);
    const coordinator = await this.shared(found.coordinator.nodeId);
    try {
      const data = await sendRaw<{ responses: { topic: string; partitions: { partition: number; errorCode: number }[] }[] }>(coordinator, 'OffsetCommit', {
        groupId,
        groupGenerationId: -1,
        memberId: '',
        topics: [{ topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.offset })) }],
      });
      const out = new Map<number, KafkaError | undefined>();
      for (const r of data.responses) for (const p of r.partitions) out.set(p.partition, errorOf(p.errorCode));
      return out;
    } catch (e) {
      this.drop(found.coordinator.nodeId);
      throw e;
    }
  }

  /** Forget the shared connection to a broker (it failed). */
  private drop(nodeId: number): void {
    const broker = this.brokers.get(nodeId);
    this.brokers.delete(nodeId);
    void broker?.then((b) => b.disconnect()).catch(() => undefined);
  }

  /**
   * Of these topics, those whose partition 0 has a leader that answers for
   * it (a ListOffsets): it then takes writes. A leader in the metadata may
   * still answer "not the leader" for a moment after a topic's creation, and
   * a producer retries a whole request on that. Per topic, its leader.
   */
  async answering(topics: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [t, answer] of await this.listOffsets(topics, -1)) if (answer.offset !== undefined) out.set(t, answer.leader);
    return out;
  }

  /** Partition 0's end offset and its leader; rejects with the broker's error (LEADER_NOT_AVAILABLE without a leader). */
  async end(topic: string): Promise<{ leader: number; offset: string }> {
    const answer = (await this.listOffsets([topic], -1)).get(topic);
    if (answer?.offset === undefined) throw answer?.error ?? (await this.leaders([topic])).get(topic)?.error ?? createErrorFromCode(5);
    return { leader: answer.leader, offset: answer.offset };
  }

  /**
   * Per topic, whether partition 0 holds a message written at or after
   * `timestamp`: true or false as its leader answered, absent when that
   * could not be known (no leader, the leader not answering, a refusal). A
   * topic the brokers do not know is absent too.
   */
  async writtenSince(topics: string[], timestamp: number): Promise<Map<string, boolean>> {
    const written = new Map<string, boolean>();
    for (const [t, answer] of await this.listOffsets(topics, timestamp)) if (answer.offset !== undefined) written.set(t, BigInt(answer.offset) >= 0n);
    return written;
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    const brokers = [...this.brokers.values()];
    this.brokers.clear();
    await Promise.all(brokers.map((b) => b.then((x) => x.disconnect()).catch(() => undefined)));
    await this.cluster.disconnect();
  }
}

/** One Fetch of partition 0 of each topic; each topic answered on its own. */
async function fetchOn(broker: InternalBroker, asked: { topic: string; offset: string }[], maxWaitMs: number): Promise<FetchedTopic[]> {
  const offsets = new Map(asked.map((a) => [a.topic, a.offset]));
  const data = await sendRaw<{ errorCode?: number; responses: { topicName: string; partitions: FetchedPartition[] }[] }>(broker, 'Fetch', {
    replicaId: -1,
    isolationLevel: READ_COMMITTED,
    maxWaitTime: maxWaitMs,
    minBytes: 1,
    maxBytes: FETCH_MAX_BYTES,
    topics: asked.map((a) => ({ topic: a.topic, partitions: [{ partition: 0, fetchOffset: a.offset, maxBytes: FETCH_PARTITION_MAX_BYTES }] })),
    rackId: '',
  });
  const whole = errorOf(data.errorCode ?? 0);
  if (whole) throw whole;
  const out: FetchedTopic[] = [];
  for (const r of data.responses) {
    for (const p of r.partitions) {
      const offset = offsets.get(r.topicName);
      if (p.partition !== 0 || offset === undefined) continue;
      const error = errorOf(p.errorCode);
      if (error) {
        out.push({ topic: r.topicName, messages: [], nextOffset: offset, error });
        continue;
      }
      // kafkajs's own batch drops what lies before the offset asked, control records and aborted transactions.
      const batch = new Batch(r.topicName, offset, p);
      const within = batch.messagesWithinOffset;
      const next = within.length > 0 ? (BigInt(within[within.length - 1]!.offset) + 1n).toString() : offset;
      out.push({
        topic: r.topicName,
        nextOffset: next,
        messages: batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value, headers: m.headers ?? {}, timestamp: m.timestamp })),
      });
    }
  }
  return out;
}
