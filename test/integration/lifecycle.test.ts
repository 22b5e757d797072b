/**
 * Consumer lifecycle: partitions assigned and revoked (with the reason), the
 * group's positions and lag, replay from the beginning.
 */
import { topicAdmin } from '../../src/kafka/topic-tools';
import { connection, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

async function topicWithPartitions(partitions: number): Promise<string> {
  const topic = testName('main');
  const admin = topicAdmin(connection);
  try {
    await admin.create([{ topic, partitions }]);
  } finally {
    await admin.close();
  }
  return topic;
}

type Event = [string, number[], string?];

describe('consumer lifecycle', () => {
  test('partitions assigned and revoked across a rebalance and a shutdown, with the reason', async () => {
    const mainTopic = await topicWithPartitions(2);
    const groupId = testName('group');
    const events: Record<'a' | 'b', Event[]> = { a: [], b: [] };
    const hooks = (who: 'a' | 'b') => ({
      onPartitionsAssigned: (p: number[]) => void events[who].push(['assigned', p]),
      onPartitionsRevoked: (p: number[], reason: string) => void events[who].push(['revoked', p, reason]),
    });
    const a = await startService<number, number>((n) => n, { mainTopic, groupId, ...hooks('a') });
    expect(events.a).toEqual([['assigned', [0, 1]]]);
    expect(a.els.assignment).toEqual([0, 1]);

    const b = await startService<number, number>((n) => n, { mainTopic, groupId, ...hooks('b') });
    await waitFor(() => a.els.assignment.length === 1 && b.els.assignment.length === 1, 'the two members to hold one partition each', 60000);
    expect([...a.els.assignment, ...b.els.assignment].sort()).toEqual([0, 1]);
    const [moved] = b.els.assignment;
    expect(events.a).toContainEqual(['revoked', [moved], 'rebalance']);
    expect(events.b).toEqual([['assigned', [moved]]]);

    await b.els.shutdown();
    expect(events.b.at(-1)).toEqual(['revoked', [moved], 'shutdown']);
    await waitFor(() => a.els.assignment.length === 2, 'the survivor to take both partitions back', 60000);
    expect(events.a.at(-1)).toEqual(['assigned', [moved]]);

    await a.els.shutdown();
    expect(events.a.at(-1)).toEqual(['revoked', [0, 1], 'shutdown']);
  });

  test('positions: committed offset, end and lag per partition; lag reaches 0 once messages are handled', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let entered = 0;
    const svc = await startReactor<number, number>(
      () => undefined,
      async (m) => {
        entered++;
        await gate;
        return m.value;
      },
    );
    const pipeline = await startPipeline();
    await pipeline.sendBatch(svc.topic, [{ data: 1 }, { data: 2 }, { data: 3 }]);
    await waitFor(() => entered === 1, 'the first message to be in progress');
    expect(await svc.els.positions()).toEqual([{ partition: 0, committed: null, high: '3', lag: 3 }]);
    open();
    await waitFor(async () => (await svc.els.positions())[0]!.lag === 0, 'the group to commit all three', 30000, 100);
    expect(await svc.els.positions()).toEqual([{ partition: 0, committed: '3', high: '3', lag: 0 }]);
    expect(svc.outputs.map((o) => o.result)).toEqual([1, 2, 3]);
  });

  test('replay: a new group with fromBeginning reads the main topic from its start', async () => {
    const first = await startService<number, number>((n) => n * 2);
    const pipeline = await startPipeline();
    await pipeline.sendBatch(first.topic, [{ data: 1 }, { data: 2 }]);
    await waitFor(() => first.outputs.length === 2, 'the first group to handle both');
    const replay = await startService<number, number>((n) => n * 3, { mainTopic: first.topic, groupId: testName('replay'), fromBeginning: true });
    await waitFor(() => replay.outputs.length === 2, 'the new group to read both again');
    expect(replay.outputs.map((o) => o.result)).toEqual([3, 6]);
    const latest = await startService<number, number>((n) => n, { mainTopic: first.topic, groupId: testName('latest'), fromBeginning: false });
    await pipeline.send(first.topic, 10);
    await waitFor(() => latest.outputs.length === 1, 'a new group with fromBeginning false to read only what comes after it');
    expect(latest.outputs[0]!.result).toBe(10);
  });

  test('a new group from the end: its start offsets are committed (every partition, the end as of now) before any member reads', async () => {
    const topic = testName('from-end');
    const admin = topicAdmin(connection);
    try {
      await admin.create([{ topic, partitions: 3 }]);
      const pipeline = await startPipeline();
      await pipeline.sendBatch(
        topic,
        [0, 1, 2, 3, 4, 5].map((n) => ({ data: -1, key: `before-${n}` })),
      );
      const ends = new Map((await admin.offsets(topic)).map((p) => [p.partition, p.high]));
      expect([...ends.values()].reduce((n, h) => n + Number(h), 0)).toBe(6);

      const group = testName('from-end');
      await admin.pinNewGroupAtEnd(group, topic);
      expect(await admin.groupOffsets(group, topic)).toEqual(ends); // committed, with nobody in the group yet
      expect((await admin.groupsWithMembers([group])).size).toBe(0);

      const svc = await startService<number, number>((n) => n, { mainTopic: topic, groupId: group, fromBeginning: false });
      await pipeline.sendBatch(
        topic,
        [1, 2, 3, 4, 5, 6].map((n) => ({ data: n, key: `k${n}` })),
      );
      await waitFor(() => svc.outputs.length === 6, 'the six messages written after start()');
      expect(svc.outputs.map((o) => o.result).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      // A group that has offsets (or live members) keeps them: pinning again changes nothing.
      await waitFor(async () => (await svc.els.positions()).every((p) => p.lag === 0), 'the six committed');
      const positions = await admin.groupOffsets(group, topic);
      await admin.pinNewGroupAtEnd(group, topic);
      expect(await admin.groupOffsets(group, topic)).toEqual(positions);
    } finally {
      await admin.close();
    }
  });

  test('perPartitionConcurrency: consecutive messages of one partition run at once; all committed after', async () => {
    // Each waits (with a deadline) until all four have started: handled one
    // after the other, the first would time out and answer with an error.
    const entered = new Set<number>();
    const svc = await startReactor<number, number>(
      () => undefined,
      async (m) => {
        entered.add(m.value);
        await waitFor(() => entered.size === 4, `all four messages in progress (${m.value} waiting)`, 20000, 10);
        return m.value;
      },
      { perPartitionConcurrency: 4 },
    );
    const pipeline = await startPipeline();
    // One write, so that they reach the Reactor in one fetched batch: concurrency is within a batch.
    await pipeline.sendBatch(
      svc.topic,
      [1, 2, 3, 4].map((data) => ({ data })),
    );
    await waitFor(() => svc.outputs.length === 4, 'four results');
    expect(svc.outputs.map((o) => o.result).sort()).toEqual([1, 2, 3, 4]);
    await waitFor(async () => (await svc.els.positions())[0]!.lag === 0, 'the four offsets committed', 30000, 100);
  });
});
