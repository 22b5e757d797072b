/**
 * NestJS's Kafka request/response (`@nestjs/microservices` ClientKafka and
 * ServerKafka, both on kafkajs), on the same workload: what a Node team would
 * otherwise use. The server is registered by handler, without decorators.
 */
import 'reflect-metadata';
import { lastValueFrom } from 'rxjs';
import { ClientKafka, ServerKafka } from '@nestjs/microservices';
import { Logger } from '@nestjs/common';
import type { RoundTrip } from './raw-kafkajs';

export async function nestKafka(
  brokers: string[],
  tag: string,
  respond: (data: unknown) => unknown,
  ensureTopics: (topics: string[]) => Promise<void>,
): Promise<RoundTrip> {
  Logger.overrideLogger(false);
  const pattern = `bench.nest.${tag}`;
  await ensureTopics([pattern, `${pattern}.reply`]);
  const server = new ServerKafka({
    client: { clientId: `bench-nest-server-${tag}`, brokers, logLevel: 0 },
    consumer: { groupId: `${pattern}.server`, maxWaitTimeInMs: 1000 },
    subscribe: { fromBeginning: true },
    producer: { allowAutoTopicCreation: false },
  });
  server.addHandler(pattern, async (data: unknown) => respond(data), false);
  await new Promise<void>((resolve, reject) => server.listen((err?: unknown) => (err ? reject(err) : resolve())));

  const client = new ClientKafka({
    client: { clientId: `bench-nest-client-${tag}`, brokers, logLevel: 0 },
    consumer: { groupId: `${pattern}.client`, maxWaitTimeInMs: 100 },
    subscribe: { fromBeginning: true },
    producer: { allowAutoTopicCreation: false },
  });
  client.subscribeToResponseOf(pattern);
  await client.connect();
  return {
    call: (data) => lastValueFrom(client.send(pattern, data)),
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}
