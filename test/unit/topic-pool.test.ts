/**
 * The return-topic pool with a stand-in admin (pure decisions, no broker):
 * calls that wait are served by one batch made for all of them, the stock
 * follows the call rate, and the cap on topics per second holds.
 */
import { TopicPool } from '../../src/calls/topic-pool';
import type { TopicAdmin } from '../../src/kafka/topics';

/** An admin whose batches take `ms` and whose every topic is ready (leader 1). */
function standIn(ms = 5) {
  const batches: number[] = [];
  const replicas: number[] = [];
  const admin = {
    createBatch: async (topics: string[], _t: number, _p: string, onReady: (t: string, l: number) => void, replicationFactor: number) => {
      batches.push(topics.length);
      replicas.push(replicationFactor);
      await new Promise((r) => setTimeout(r, ms));
      for (const t of topics) onReady(t, 1);
      return { ready: new Map(topics.map((t) => [t, 1])), failed: new Map() };
    },
  } as unknown as TopicAdmin;
  return { admin, batches, replicas };
}

function pool(admin: TopicAdmin, maxPerSecond: number, spare = 2, replicationFactor = -1) {
  const discarded: string[] = [];
  const p = new TopicPool(admin, {
    prefix: 'kafka-fusion.reply.',
    spare,
    maxBatch: 512,
    maxPerSecond,
    replicationFactor,
    maxAgeMs: 60000,
    createTimeoutMs: 10000,
    own: () => undefined,
    discard: (t) => discarded.push(t),
    onError: () => undefined,
  });
  return { p, discarded };
}

test('calls that find the stock empty wait for the next batch, made for all of them; each topic goes to one call', async () => {
  const { admin, batches } = standIn();
  const { p } = pool(admin, 0);
  const topics = await Promise.all(Array.from({ length: 100 }, () => p.take()));
  expect(new Set(topics.map((t) => t.topic)).size).toBe(100);
  expect(topics.every((t) => t.leader === 1 && t.fromStock === false)).toBe(true);
  // The first call starts a batch (itself and the spare 2); the 99 that came meanwhile share the next one.
  expect(batches).toHaveLength(2);
  expect(batches[0]).toBe(3);
  expect(batches[1]).toBeGreaterThanOrEqual(97);
  await p.close();
});

test('the stock grows while calls find it empty, and a call then takes a topic made ahead', async () => {
  const { admin, batches } = standIn();
  const { p } = pool(admin, 0);
  for (let i = 0; i < 200; i++) await p.take();
  // Back-to-back calls outran the first small batches; the batches grew.
  expect(Math.max(...batches)).toBeGreaterThan(8);
  const next = await p.take();
  expect(next.fromStock).toBe(true);
  await p.close();
});

test('no more than maxPerSecond topics a second: 60 calls at once under a cap of 20/s take about 2 s', async () => {
  const { admin, batches } = standIn(1);
  const { p } = pool(admin, 20, 0);
  const started = Date.now();
  const topics = await Promise.all(Array.from({ length: 60 }, () => p.take()));
  const seconds = (Date.now() - started) / 1000;
  expect(new Set(topics.map((t) => t.topic)).size).toBe(60);
  expect(batches.reduce((a, b) => a + b, 0)).toBe(60);
  expect(batches[0]).toBeLessThanOrEqual(20); // a second's worth at once, no more
  // 20 at once, then 40 more at 20/s: about 2 s (never much less).
  expect(seconds).toBeGreaterThan(1.7);
  await p.close();
});

test('close fails the calls still waiting and hands every ready topic back for deletion', async () => {
  const { admin } = standIn();
  const { p, discarded } = pool(admin, 0, 3);
  await p.take(); // the first batch: 1 + 3 spare
  await new Promise((r) => setTimeout(r, 50));
  expect(p.stock).toBe(3);
  await p.close();
  expect(discarded).toHaveLength(3);
  await expect(p.take()).rejects.toThrow(/closed/);
});

test('a cap below one topic a second still makes topics (one now, the next two seconds later at 0.5/s)', async () => {
  const { admin } = standIn(1);
  const { p } = pool(admin, 0.5, 0);
  const first = await p.take();
  expect(first.fromStock).toBe(false);
  await p.close();
});

test('every batch asks for the replication factor given', async () => {
  const { admin, replicas } = standIn();
  const { p } = pool(admin, 0, 2, 3);
  await Promise.all(Array.from({ length: 10 }, () => p.take()));
  expect(replicas.length).toBeGreaterThan(0);
  expect(replicas.every((r) => r === 3)).toBe(true);
  await p.close();
});
