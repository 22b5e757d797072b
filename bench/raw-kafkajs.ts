/**
 * The limit of this stack: a request/reply round trip written directly on
 * kafkajs, with nothing of kafka-fusion in the path. One request topic, one
 * reply topic, a responder that echoes; replies matched by id. The same
 * settings as kafka-fusion's (fetch waits, no auto topic creation).
 */
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';

export interface RoundTrip {
  call: (data: unknown) => Promise<unknown>;
  close: () => Promise<void>;
}

/** The raw round trips' own protocol: `{ id, data }` out, `{ id, result }` back, matched by id. */
export function idMatcher(send: (key: string, value: string) => Promise<unknown>) {
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 0;
  return {
    /** The reply's text, from the reply topic. */
    deliver(text: string): void {
      const { id, result } = JSON.parse(text) as { id: number; result: unknown };
      pending.get(id)?.(result);
      pending.delete(id);
    },
    call: (data: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, resolve);
        send(String(id), JSON.stringify({ id, data })).catch(reject);
      }),
  };
}

/** A responder's answer to one request's text. */
export function answer(text: string, respond: (data: unknown) => unknown): string {
  const { id, data } = JSON.parse(text) as { id: number; data: unknown };
  return JSON.stringify({ id, result: respond(data) });
}

export async function rawKafkajs(brokers: string[], tag: string, respond: (data: unknown) => unknown): Promise<RoundTrip> {
  const kafka = new Kafka({ clientId: `bench-raw-${tag}`, brokers, logLevel: logLevel.NOTHING });
  const requests = `bench.raw.${tag}.requests`;
  const replies = `bench.raw.${tag}.replies`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: requests }, { topic: replies }], waitForLeaders: true });
  await admin.disconnect();

  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const joined = (c: Consumer) => new Promise<void>((resolve) => c.on(c.events.GROUP_JOIN, () => resolve()));

  const responder = kafka.consumer({ groupId: `${requests}.g`, maxWaitTimeInMs: 1000 });
  await responder.connect();
  await responder.subscribe({ topic: requests, fromBeginning: true });
  const responderJoined = joined(responder);
  await responder.run({
    eachMessage: async ({ message }) => {
      await producer.send({ topic: replies, messages: [{ value: answer(message.value!.toString(), respond) }] });
    },
  });

  const matcher = idMatcher((key, value) => producer.send({ topic: requests, messages: [{ key, value }] }));
  const listener = kafka.consumer({ groupId: `${replies}.g`, maxWaitTimeInMs: 100 });
  await listener.connect();
  await listener.subscribe({ topic: replies, fromBeginning: true });
  const listenerJoined = joined(listener);
  await listener.run({
    eachMessage: async ({ message }) => matcher.deliver(message.value!.toString()),
  });
  await Promise.all([responderJoined, listenerJoined]);

  return {
    call: matcher.call,
    close: async () => {
      await listener.disconnect();
      await responder.disconnect();
      await producer.disconnect();
      const a = kafka.admin();
      await a.connect();
      await a.deleteTopics({ topics: [requests, replies] });
      await a.disconnect();
    },
  };
}
