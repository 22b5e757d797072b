/**
 * The same raw round trip as raw-kafkajs.ts on @platformatic/kafka
 * (maintained, pure TypeScript): a data point on whether kafkajs bounds
 * kafka-fusion. Bench-only dependency; nothing in src/ uses it.
 */
import { Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { answer, idMatcher, type RoundTrip } from './raw-kafkajs';

export async function platformaticKafka(
  brokers: string[],
  tag: string,
  respond: (data: unknown) => unknown,
  ensureTopics: (topics: string[]) => Promise<void>,
  deleteTopics: (topics: string[]) => Promise<void>,
): Promise<RoundTrip> {
  const requests = `bench.plt.${tag}.requests`;
  const replies = `bench.plt.${tag}.replies`;
  await ensureTopics([requests, replies]);
  const producer = new Producer({ clientId: `bench-plt-${tag}`, bootstrapBrokers: brokers, serializers: stringSerializers });
  const responder = new Consumer({
    clientId: `bench-plt-r-${tag}`,
    groupId: `${requests}.g`,
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    maxWaitTime: 1000,
  });
  const listener = new Consumer({
    clientId: `bench-plt-l-${tag}`,
    groupId: `${replies}.g`,
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    maxWaitTime: 100,
  });

  const requestStream = await responder.consume({ topics: [requests], mode: MessagesStreamModes.EARLIEST, autocommit: true });
  requestStream.on('data', (message) => void producer.send({ messages: [{ topic: replies, value: answer(message.value as string, respond) }] }));
  const matcher = idMatcher((key, value) => producer.send({ messages: [{ topic: requests, key, value }] }));
  const replyStream = await listener.consume({ topics: [replies], mode: MessagesStreamModes.EARLIEST, autocommit: true });
  replyStream.on('data', (message) => matcher.deliver(message.value as string));

  return {
    call: matcher.call,
    close: async () => {
      await replyStream.close();
      await requestStream.close();
      await listener.close();
      await responder.close();
      await producer.close();
      await deleteTopics([requests, replies]);
    },
  };
}
