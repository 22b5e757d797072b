/**
 * No leaked topics, ever: a process SIGKILLed mid-call leaves its return
 * topic behind, and the sweeper removes it once its heartbeat has stopped,
 * while a topic that a live call reads (its process writes a heartbeat on
 * it) is left alone.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ephemeralTopicTime, newEphemeralTopic } from '../../src/naming';
import { sweepTopics } from '../../src/calls/sweeper';
import { connection, createTopics, deleteTopics, ephemeralTopicsOnBroker, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startService } from '../helpers/fusion';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

const ROOT = path.join(__dirname, '..', '..');
/** The sweepers' TTL in these tests: processes write their heartbeat every second. */
const TTL_MS = 3000;

describe('sweeping orphaned return topics', () => {
  test.each(['ephemeral', 'instance'])(
    'after a SIGKILL mid-call (%s reply mode), the sweeper deletes the orphan; while the call lived it was kept',
    async (mode) => {
      const [silent] = await createTopics(testName('silent'));
      // node itself, not the tsx wrapper: SIGKILL must hit the process that owns the topic.
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'fixtures', 'hanging-requester.ts'), silent!, mode, String(TTL_MS)], {
        cwd: ROOT,
        env: { ...process.env, KAFKA_BROKERS: connection.brokers.join(',') },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
      try {
        await withRaw(async ({ listen }) => {
          // The request is sent only once its return topic is read: once it is
          // here, the return topic is in use by a live call.
          const requests = await listen(silent!);
          await waitFor(() => requests.got.length === 1, 'the child process to send its request', 60000);
          const returnTopic = JSON.parse(requests.got[0]!.value!.toString()).returnTopic as string;
          expect(ephemeralTopicTime(returnTopic)).toBeGreaterThan(Date.now() - 120000);

          // The child's sweepers' TTL is 3 s, so it writes a heartbeat on the topics it reads every second:
          // once the topic is older than the TTL, only the heartbeat keeps it.
          await waitFor(async () => ephemeralTopicTime(returnTopic)! < Date.now() - 2 * TTL_MS, 'the return topic to outlive the TTL', 30000, 200);
          const whileAlive = await sweepTopics({ connection, olderThanMs: TTL_MS });
          expect(whileAlive.live).toContain(returnTopic);
          expect(whileAlive.deleted).not.toContain(returnTopic);
          expect(await ephemeralTopicsOnBroker()).toContain(returnTopic);

          child.kill('SIGKILL');
          expect(await exited).toBe('SIGKILL');
          // Its last heartbeat keeps it for up to one TTL more.
          const deleted: string[] = [];
          await waitFor(
            async () => (deleted.push(...(await sweepTopics({ connection, olderThanMs: TTL_MS })).deleted), deleted.includes(returnTopic)),
            'the sweeper to delete the orphaned return topic',
            90000,
            1000,
          );
          expect(await ephemeralTopicsOnBroker()).not.toContain(returnTopic);
        });
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
    180000,
  );

  test('young topics, excluded topics and names that are not <prefix><uuid v7> are left alone', async () => {
    const young = newEphemeralTopic();
    const excluded = newEphemeralTopic();
    const notOurs = 'kafka-fusion.reply.kcat-by-hand';
    await createTopics(young, excluded, notOurs);
    try {
      const report = await sweepTopics({ connection, olderThanMs: 3600000, exclude: [excluded] });
      expect(report.young).toContain(young);
      expect(report.deleted).toEqual([]);
      const now = await sweepTopics({ connection, olderThanMs: 0, exclude: [excluded] });
      expect(now.deleted).toContain(young); // nothing written to it: an orphan
      expect(now.deleted).not.toContain(excluded);
      expect(now.deleted).not.toContain(notOurs);
      expect(await ephemeralTopicsOnBroker()).toEqual(expect.arrayContaining([excluded, notOurs]));
      expect(await ephemeralTopicsOnBroker()).not.toContain(young);
    } finally {
      await deleteTopics([excluded, notOurs]);
    }
  });

  test('a Reactor and a Pipeline sweep at start', async () => {
    const orphan = newEphemeralTopic();
    await createTopics(orphan);
    // Each sweeps once at start; olderThanMs 1 makes the new orphan old enough.
    await startService<number, number>((n) => n, { sweepOlderThanMs: 1 });
    await waitFor(async () => !(await ephemeralTopicsOnBroker()).includes(orphan), "the Reactor's start-up sweep to delete the orphan", 30000, 200);
    const orphan2 = newEphemeralTopic();
    await createTopics(orphan2);
    await startPipeline({ sweepOlderThanMs: 1 });
    await waitFor(async () => !(await ephemeralTopicsOnBroker()).includes(orphan2), "the Pipeline's start-up sweep to delete the orphan", 30000, 200);
  });

  test("a scheduled sweep never deletes its owner's topics, even in the moment before their listener joins", async () => {
    const svc = await startService<number, number>((n) => n);
    // Sweeping every 20 ms, with every topic old enough: only the exclusion of owned topics protects the calls.
    const pipeline = await startPipeline({ sweepIntervalMs: 20, sweepOlderThanMs: 1, onError: (e) => console.error(e) });
    const results: number[] = [];
    for (let i = 0; i < 10; i++) results.push(await pipeline.request<number>(svc.topic, i));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
