import { createKafka, resolveConnection, type ConnectionOptions } from '../../src/kafka/client';
import { GroupConsumer, type InboundMessage } from '../../src/kafka/consumer';
import { Producers } from '../../src/kafka/producer';
import { connection, testName } from './broker';
import { keyOf, texts } from './bytes';

/** A message as read, with text views of its key and headers for assertions on text (`key` and `headers` are the bytes). */
export interface Received extends InboundMessage {
  keyText: string | null;
  text: Record<string, string>;
}

export interface Raw {
  producers: Producers;
  /** Read a topic from the beginning; resolves once the listener has joined. */
  listen: (topic: string) => Promise<{ got: Received[]; stop: () => Promise<void> }>;
}

/** Plain Kafka producing and consuming, below the library's request/reply, for tests that write or read raw messages. */
export async function withRaw<T>(fn: (raw: Raw) => Promise<T>, on: ConnectionOptions = connection): Promise<T> {
  const kafka = createKafka(resolveConnection(on));
  const producers = new Producers(kafka);
  const consumers: GroupConsumer[] = [];
  const listen = async (topic: string) => {
    const got: Received[] = [];
    const c = new GroupConsumer(kafka, { groupId: testName('raw'), topic, fromBeginning: true, autoCommit: false, maxWaitTimeInMs: 100, joinTimeoutMs: 30000 });
    consumers.push(c);
    await c.start(async (m) => void got.push({ ...m, keyText: keyOf(m), text: texts(m.headers) }));
    return { got, stop: () => c.stop() };
  };
  try {
    return await fn({ producers, listen });
  } finally {
    for (const c of consumers) await c.stop();
    await producers.close();
  }
}
