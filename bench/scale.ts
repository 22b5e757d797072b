/**
 * npm run bench:scale: throughput and latency of a service as it scales out,
 * 1 → 2 → 4 Reactor processes (separate OS processes, one consumer group)
 * over a topic of 12 partitions (replication factor 3) on a three-node
 * cluster, driven by one Pipeline (instance mode) at a fixed concurrency.
 * Each request costs the service SCALE_WORK_MS of CPU. Prints a table and
 * writes bench/results/scale.json; docs/scaling.md reads it.
 *
 *   npm run bench:scale                   # a local 3-node cluster on 19092-19094 (started, and stopped after, if not running)
 *   KAFKA_BROKERS=h1:9092,h2:9092 npm run bench:scale
 *   SCALE_WORK_MS=2 SCALE_CONCURRENCY=64 SCALE_REQUESTS=4000 SCALE_STEPS=1,2,4
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import { topicAdmin } from '../src/kafka/topic-tools';
import { Pipeline } from '../src/pipeline/pipeline';

const ROOT = path.join(__dirname, '..');
const PORT = 19092;
const OWN_CLUSTER = !process.env.KAFKA_BROKERS;
const brokers = OWN_CLUSTER ? [0, 1, 2].map((i) => `127.0.0.1:${PORT + i}`) : process.env.KAFKA_BROKERS!.split(',');
const connection = { brokers, logLevel: 'nothing' as const };
const WORK_MS = Number(process.env.SCALE_WORK_MS ?? 2);
const CONCURRENCY = Number(process.env.SCALE_CONCURRENCY ?? 64);
const REQUESTS = Number(process.env.SCALE_REQUESTS ?? 4000);
const STEPS = (process.env.SCALE_STEPS ?? '1,2,4').split(',').map(Number);
const PARTITIONS = 12;

function progress(line: string): void {
  process.stderr.write(`[scale] ${line}\n`);
}

function clusterScript(...args: string[]): void {
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_PORT: String(PORT) };
  delete env.KAFKA_BROKERS;
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'broker.ts'), ...args], { cwd: ROOT, env, stdio: 'inherit' });
}

interface Worker {
  child: ChildProcess;
  ready: boolean;
  partitions: number;
  exited: Promise<void>;
}

function worker(topic: string, group: string): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'scale-worker.ts'), topic, group, String(WORK_MS)], {
    cwd: ROOT,
    env: { ...process.env, KAFKA_BROKERS: brokers.join(',') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const w: Worker = { child, ready: false, partitions: 0, exited: new Promise((resolve) => child.on('exit', () => resolve())) };
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') w.ready = true;
    else if (line.startsWith('partitions ')) w.partitions = Number(line.slice(11));
  });
  return w;
}

async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Step {
  processes: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function step(processes: number): Promise<Step> {
  const topic = `kafka-fusion-bench.scale.${process.pid}.${processes}`;
  const admin = topicAdmin(connection);
  await admin.create([{ topic, partitions: PARTITIONS, replicationFactor: Math.min(3, brokers.length) }]);
  const workers = Array.from({ length: processes }, () => worker(topic, `${topic}.group`));
  const pipeline = new Pipeline({ connection, replyMode: 'instance', sweepIntervalMs: 0, callTimeoutMs: 60000 });
  try {
    await until(() => workers.every((w) => w.ready || w.child.exitCode !== null), `${processes} workers to start`, 180000);
    if (workers.some((w) => w.child.exitCode !== null)) throw new Error('a worker exited before it was ready');
    // Every member holds partitions and all 12 are held: the group has settled.
    await until(
      () => workers.every((w) => w.partitions > 0) && workers.reduce((n, w) => n + w.partitions, 0) === PARTITIONS,
      'the group to spread the partitions',
      120000,
    );
    await pipeline.start();
    progress(`${processes} process(es): partitions ${workers.map((w) => w.partitions).join('/')}; warming up`);
    const call = (i: number) => pipeline.request(topic, { i });
    let next = 0;
    const warm = async () => {
      while (next < 500) await call(next++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, warm));
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    next = 0;
    const started = process.hrtime.bigint();
    const run = async () => {
      while (next < REQUESTS) {
        const t = process.hrtime.bigint();
        await call(next++);
        h.recordValue(Number((process.hrtime.bigint() - t) / 1000n));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, run));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const ms = (us: number) => Math.round(us / 10) / 100;
    const out = {
      processes,
      callsPerSecond: Math.round(REQUESTS / seconds),
      p50Ms: ms(h.getValueAtPercentile(50)),
      p99Ms: ms(h.getValueAtPercentile(99)),
      maxMs: ms(h.maxValue),
    };
    h.destroy();
    progress(`${processes} process(es): ${out.callsPerSecond} calls/s, p50 ${out.p50Ms} ms, p99 ${out.p99Ms} ms`);
    return out;
  } finally {
    await pipeline.close().catch(() => undefined);
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.race([Promise.all(workers.map((w) => w.exited)), new Promise((r) => setTimeout(r, 60000))]);
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await admin.deleteNow([topic]).catch(() => undefined);
    await admin.close();
  }
}

async function main(): Promise<void> {
  if (OWN_CLUSTER) clusterScript('up', '--nodes', '3');
  const steps: Step[] = [];
  try {
    for (const n of STEPS) steps.push(await step(n));
  } finally {
    if (OWN_CLUSTER && process.env.SCALE_KEEP_CLUSTER !== '1') clusterScript('down');
  }
  const base = steps[0]!.callsPerSecond;
  console.log(
    `\nScale-out: ${PARTITIONS} partitions (RF ${Math.min(3, brokers.length)}), ${brokers.length} brokers, ${WORK_MS} ms of CPU per request, concurrency ${CONCURRENCY}, ${REQUESTS} requests per step, ${os.cpus().length} cores\n`,
  );
  console.log('| Reactor processes | calls/s | × 1 process | p50 ms | p99 ms |');
  console.log('|---|---|---|---|---|');
  for (const s of steps) console.log(`| ${s.processes} | ${s.callsPerSecond} | ${(s.callsPerSecond / base).toFixed(2)} | ${s.p50Ms} | ${s.p99Ms} |`);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    path.join(__dirname, 'results', 'scale.json'),
    JSON.stringify(
      {
        at: new Date().toISOString(),
        cores: os.cpus().length,
        brokers: brokers.length,
        partitions: PARTITIONS,
        workMs: WORK_MS,
        concurrency: CONCURRENCY,
        requests: REQUESTS,
        steps,
      },
      null,
      2,
    ),
  );
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
