/**
 * The group-less reply reader (issue 16): return topics read from offset 0
 * without a consumer group, many in one Fetch. A reply written before the
 * reader's first fetch is read; hundreds of calls share one reader; a topic
 * deleted under it is given up without stopping the others.
 */
import type { FusionError } from '../../src/errors';
import { resolveConnection } from '../../src/kafka/client';
import type { InboundMessage } from '../../src/kafka/consumer';
import { KafkaClient } from '../../src/kafka/kafka-client';
import { connection, createTopics, deleteTopics, ephemeralTopicsOnBroker } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';
import { newEphemeralTopic } from '../../src/naming';

afterEach(closeAllAndCheckTopics);

/** A KafkaClient and its reader, with what the reader tells. */
async function withReader<T>(
  fn: (r: { client: KafkaClient; got: InboundMessage[]; lost: [string, FusionError][]; reader: ReturnType<KafkaClient['replyReader']> }) => Promise<T>,
): Promise<T> {
  const client = new KafkaClient(resolveConnection(connection));
  const got: InboundMessage[] = [];
  const lost: [string, FusionError][] = [];
  const reader = client.replyReader({ maxWaitMs: 100, onMessage: (m) => got.push(m), onLost: (t, e) => lost.push([t, e]), onError: () => undefined });
  try {
    return await fn({ client, got, lost, reader });
  } finally {
    await reader.close();
    await client.close();
  }
}

test('a reply written before the reader first fetches its topic is read: topics are read from offset 0, bytes as written', async () => {
  const [topic] = await createTopics(newEphemeralTopic());
  try {
    await withReader(async ({ client, got, reader }) => {
      const value = Buffer.from([0xff, 0x00, 0x7b, 0xc3]);
      await client.producers.sendReply(topic!, { key: 'k', value, headers: { h: Buffer.from([0x80]) } });
      reader.add(topic!);
      await waitFor(() => got.length === 1, 'the reply written before the topic was added', 30000);
      expect(got[0]).toMatchObject({ topic, partition: 0, offset: '0' });
      expect(got[0]!.value).toEqual(value);
      expect(got[0]!.headers.h).toEqual(Buffer.from([0x80]));
      // Read once: the next fetch starts after it.
      await client.producers.sendReply(topic!, { value: 'second' });
      await waitFor(() => got.length === 2, 'the second reply', 30000);
      expect(got.map((m) => m.offset)).toEqual(['0', '1']);
      await reader.remove(topic!);
      expect(reader.size).toBe(0);
    });
  } finally {
    await deleteTopics([topic!]);
  }
});

test('a topic deleted under the reader is given up (told to onLost); the topics read with it go on', async () => {
  const [gone, kept] = await createTopics(newEphemeralTopic(), newEphemeralTopic());
  try {
    await withReader(async ({ client, got, lost, reader }) => {
      reader.add(gone!);
      reader.add(kept!);
      await client.producers.sendReply(kept!, { value: 'before' });
      await waitFor(() => got.length === 1, 'a message on the kept topic', 30000);
      await deleteTopics([gone!]);
      await waitFor(() => lost.length === 1, 'the deleted topic given up', 60000, 100);
      expect(lost[0]![0]).toBe(gone);
      expect(lost[0]![1].message).toContain(gone!);
      await client.producers.sendReply(kept!, { value: 'after' });
      await waitFor(() => got.length === 2, 'a message on the kept topic after the deletion', 30000);
      expect(got.map((m) => m.value?.toString())).toEqual(['before', 'after']);
      expect(reader.size).toBe(1);
    });
  } finally {
    await deleteTopics([kept!]);
  }
});

test('hundreds of concurrent ephemeral calls share one reader: every call answered once, far fewer fetches than calls, no topic left', async () => {
  const svc = await startService<number, number>((n) => n * 2, { perPartitionConcurrency: 64 });
  const pipeline = await startPipeline();
  const N = 400;
  const outs = await Promise.all(Array.from({ length: N }, (_, i) => pipeline.call<number>(svc.topic, i, { timeoutMs: 60000 })));
  expect(outs.map((o) => o.result)).toEqual(Array.from({ length: N }, (_, i) => i * 2));
  expect(new Set(outs.map((o) => o.returnTopic)).size).toBe(N); // one topic per call
  const reader = (pipeline as unknown as { transport: { reader: { fetches: number; size: number } } }).transport.reader;
  expect(reader.fetches).toBeLessThan(N);
  await waitFor(() => reader.size === 0, 'every return topic let go by the reader', 30000);
  await pipeline.close();
  await waitFor(async () => (await ephemeralTopicsOnBroker()).length === 0, 'every return topic deleted', 60000, 200);
});
