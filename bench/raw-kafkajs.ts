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
      const { id, data } = JSON.parse(message.value!.toString()) as { id: number; data: unknown };
      await producer.send({ topic: replies, messages: [{ value: JSON.stringify({ id, result: respond(data) }) }] });
    },
  });

  const pending = new Map<number, (v: unknown) => void>();
  const listener = kafka.consumer({ groupId: `${replies}.g`, maxWaitTimeInMs: 100 });
  await listener.connect();
  await listener.subscribe({ topic: replies, fromBeginning: true });
  const listenerJoined = joined(listener);
  await listener.run({
    eachMessage: async ({ message }) => {
      const { id, result } = JSON.parse(message.value!.toString()) as { id: number; result: unknown };
      pending.get(id)?.(result);
      pending.delete(id);
    },
  });
  await Promise.all([responderJoined, listenerJoined]);

  let nextId = 0;
  return {
    call: (data) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, resolve);
        producer.send({ topic: requests, messages: [{ key: String(id), value: JSON.stringify({ id, data }) }] }).catch(reject);
      }),
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
