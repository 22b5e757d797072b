/**
 * At least once on the main topic: two Reactor processes in one group serve
 * N requests from a Pipeline; one is SIGKILLed mid-run, mid-DAG. The other
 * takes over its partitions and redoes what it had not committed: every
 * request is answered, none lost. Duplicates (work done twice) are counted
 * and reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { sweepTopics } from '../../src/calls/sweeper';
import { topicAdmin } from '../../src/kafka/topic-tools';
import { connection, ephemeralTopicsOnBroker, testName } from '../helpers/broker';
import { closeAfterTest, closeAllAndCheckTopics, startPipeline, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

const ROOT = path.join(__dirname, '..', '..');
const N = 2000;
const CONCURRENCY = 32;
const PARTITIONS = 8;

interface ReactorProcess {
  child: ChildProcess;
  started: Set<number>;
  done: number[];
  exited: Promise<NodeJS.Signals | number | null>;
}

async function reactorProcess(mainTopic: string, groupId: string, depTopic: string, name: string): Promise<ReactorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'fixtures', 'reactor-process.ts'), mainTopic, groupId, depTopic, name], {
    cwd: ROOT,
    env: { ...process.env, KAFKA_BROKERS: connection.brokers.join(',') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  closeAfterTest(async () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const done: number[] = [];
  const started = new Set<number>();
  let ready = false;
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') ready = true;
    else if (line.startsWith('start ')) started.add(Number(line.slice(6)));
    else if (line.startsWith('done ')) done.push(Number(line.slice(5)));
  });
  await waitFor(() => ready || child.exitCode !== null, `${name} to start consuming`, 90000, 50);
  if (!ready) throw new Error(`${name} exited before it was ready`);
  return { child, started, done, exited };
}

test(`${N} requests, two Reactor processes in one group, one SIGKILLed mid-run: every request answered, none lost`, async () => {
  const mainTopic = testName('failover-main');
  const admin = topicAdmin(connection);
  try {
    await admin.create([{ topic: mainTopic, partitions: PARTITIONS }]);
  } finally {
    await admin.close();
  }
  const dep = await startService<number[], number>(([n]) => n! * 2);
  const groupId = testName('failover');
  const a = await reactorProcess(mainTopic, groupId, dep.topic, 'a');
  const b = await reactorProcess(mainTopic, groupId, dep.topic, 'b');
  const pipeline = await startPipeline();

  const answers = new Map<number, unknown>();
  const failures: string[] = [];
  let next = 0;
  let killedAt = -1;
  let midDag: number[] = [];
  const worker = async () => {
    for (let n = next++; n < N; n = next++) {
      try {
        answers.set(n, await pipeline.request(mainTopic, { n }, { key: `k${n}`, timeoutMs: 120000 }));
      } catch (e) {
        failures.push(`${n}: ${String(e)}`);
      }
      // Once a third is answered, kill `a` at a moment when it has a DAG in flight.
      const inFlight = [...a.started].filter((x) => !a.done.includes(x));
      if (answers.size >= Math.floor(N / 3) && killedAt < 0 && inFlight.length > 0) {
        killedAt = answers.size;
        midDag = inFlight;
        a.child.kill('SIGKILL');
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsedMs = Date.now() - started;

  expect(await a.exited).toBe('SIGKILL');
  expect(midDag.length).toBeGreaterThan(0); // killed mid-DAG
  expect(failures).toEqual([]);
  expect(answers.size).toBe(N);
  for (let n = 0; n < N; n++) expect(answers.get(n)).toMatchObject({ n, result: 2 * n });
  const by = { a: 0, b: 0 };
  for (const v of answers.values()) by[(v as { by: 'a' | 'b' }).by]++;
  expect(by.a).toBeGreaterThan(0); // both served before the kill
  expect(by.b).toBeGreaterThan(0);
  const counts = new Map<number, number>();
  for (const n of [...a.done, ...b.done]) counts.set(n, (counts.get(n) ?? 0) + 1);
  const duplicates = [...counts.values()].filter((c) => c > 1).length;
  console.log(
    `failover: ${N} requests in ${(elapsedMs / 1000).toFixed(1)} s, a killed after ${killedAt} answers with ${midDag.length} DAG(s) in flight; answered by a ${by.a}, by b ${by.b}; ` +
      `processed twice (a's uncommitted work redone by b): ${duplicates}; lost: ${N - answers.size}`,
  );

  // Stop the survivor cleanly; then the killed process's orphaned return
  // topics become sweepable once its listeners' sessions expire.
  b.child.kill('SIGTERM');
  expect(await b.exited).toBe(0);
  await pipeline.close();
  await waitFor(
    async () => (await sweepTopics({ connection, olderThanMs: 0 }), (await ephemeralTopicsOnBroker()).length === 0),
    "the killed process's return topics to be swept",
    60000,
    1000,
  );
}, 600000);
