/**
 * A user's first hour (issue 13): common mistakes fail fast, say what is
 * wrong, and leave nothing that keeps the process alive. Each case runs in a
 * child process that must exit by itself once everything is closed.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ReplyMode } from '../../src/reply-mode';
import { createTopics, testName } from '../helpers/broker';
import { ConfigError, StateError } from '../../src/errors';
import { ensureTopics } from '../../src/kafka/topic-tools';
import { connection } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline } from '../helpers/fusion';
import { closedPort } from '../helpers/net';

afterEach(closeAllAndCheckTopics);

const ROOT = path.join(__dirname, '..', '..');

interface Attempt {
  what: string;
  name: string;
  message: string;
  ms: number;
}

/** Runs test/fixtures/first-hour.ts; resolves with its JSON lines, and how long it took to exit after printing `closed`. */
function runFixture(args: string[], limitMs: number): Promise<{ attempts: Attempt[]; exitAfterCloseMs: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'fixtures', 'first-hour.ts'), ...args], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let closedAt: number | undefined;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      if (closedAt === undefined && /^closed$/m.test(out)) closedAt = Date.now();
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const killer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `the process did not exit within ${limitMs} ms${closedAt !== undefined ? ` (it printed "closed" ${Date.now() - closedAt} ms before)` : ''}; stdout: ${out}; stderr: ${stderr}`,
        ),
      );
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(killer);
      const attempts = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Attempt);
      resolve({ attempts, exitAfterCloseMs: closedAt === undefined ? NaN : Date.now() - closedAt, code, stderr });
    });
  });
}

describe.each<ReplyMode>(['ephemeral', 'instance'])('a topic that does not exist (%s mode)', (mode) => {
  test('a request, a send and an orchestrator call fail in well under a second, naming the topic; the process then exits by itself', async () => {
    const missing = testName('missing');
    const [orchestrator] = await createTopics(testName('orchestrator'));
    const run = await runFixture(['missing-topic', missing, mode, orchestrator!], 90000);
    const says = `topic "${missing}" does not exist (or this client may not see it); nothing was written to it (create it first: ensureTopics(), or kafka-fusion topics create ${missing})`;
    expect(run.attempts.map(({ what, name, message }) => ({ what, name, message }))).toEqual([
      { what: 'request', name: 'UnknownTopicError', message: says },
      { what: 'send', name: 'UnknownTopicError', message: says },
      // The orchestrator's failure comes back as its error reply.
      { what: 'orchestrator', name: 'RemoteError', message: expect.stringContaining(says) },
    ]);
    console.log(`missing topic (${mode}): ${run.attempts.map((a) => `${a.what} ${a.ms} ms`).join(', ')}; exited ${run.exitAfterCloseMs} ms after close`);
    // Generous bounds for a loaded 2-core machine; the figures are printed above.
    for (const a of run.attempts.filter((x) => x.what !== 'orchestrator')) expect(a.ms).toBeLessThan(2000);
    expect(run.stderr.split('\n').filter((l) => /ERROR|Error:|at /.test(l))).toEqual([]); // at the default log level, no kafkajs ERROR line or stack trace
    expect(run.code).toBe(0);
    expect(run.exitAfterCloseMs).toBeLessThan(10000);
  });
});

describe.each<['env' | 'option', string]>([
  ['env', 'from the environment variable KAFKA_BROKERS'],
  ['option', 'from the option connection.brokers'],
])('a wrong broker address (given through %s)', (via, origin) => {
  test('Pipeline.start(), a Reactor and ensureTopics each fail in seconds with one error naming the address and where it came from; no kafkajs noise; the process exits', async () => {
    const address = `127.0.0.1:${await closedPort()}`; // nothing listens there
    const run = await runFixture(['wrong-address', address, via], 60000);
    const says = `could not connect to a Kafka broker at ${address} (connection refused: nothing listens there); the address is ${origin}`;
    expect(run.attempts.map(({ what, name, message }) => ({ what, name, message }))).toEqual(
      ['pipeline', 'reactor', 'ensureTopics'].map((what) => ({ what, name: 'TransportError', message: says })),
    );
    console.log(`wrong address (${via}): ${run.attempts.map((a) => `${a.what} ${a.ms} ms`).join(', ')}; exited ${run.exitAfterCloseMs} ms after close`);
    for (const a of run.attempts) expect(a.ms).toBeLessThan(5000);
    expect(run.stderr.split('\n').filter((l) => /ERROR|Error:|at /.test(l))).toEqual([]); // no kafkajs ERROR line, no stack trace
    expect(run.code).toBe(0);
    expect(run.exitAfterCloseMs).toBeLessThan(10000);
  });
});

test('mistakes in what is passed are ConfigErrors that say what to do; a closed Pipeline says it is closed', async () => {
  const pipeline = await startPipeline();
  const [topic] = await createTopics(testName('first-hour'));
  await expect(pipeline.request(topic!, 1, { timeout: 5000 } as never)).rejects.toThrow(
    /^options\.timeout: is not an option; did you mean options\.timeoutMs\?/,
  );
  await expect(pipeline.sendBatch(topic!, [{ data: 1, partition: 2 } as never])).rejects.toThrow(/^items\[0\]\.partition: is not an option/);
  await expect(ensureTopics(['first-hour.x'] as never, connection)).rejects.toThrow(
    new ConfigError('specs[0]', 'must be an object such as { topic: "first-hour.x" }, got the string "first-hour.x"'),
  );
  await pipeline.close();
  await expect(pipeline.request(topic!, 1)).rejects.toThrow(new StateError('pipeline is stopped; a closed Pipeline does not start again: make a new one'));
  await expect(pipeline.start()).rejects.toThrow(new StateError('pipeline is stopped; a closed Pipeline does not start again: make a new one'));
});
