/**
 * The broker's health under ephemeral churn (issue 16): N ephemeral calls at
 * concurrency 64 through a Pipeline to an echo service, then what they left
 * on the broker: library topics (target 0), the broker's heap after a full
 * GC against before (target within +20 %), right after the calls and once
 * the broker has removed the deleted partitions (it keeps each, as a
 * `-delete` directory with its files open, for
 * `log.segment.delete.delay.ms`, 60 s), and the size of the KRaft metadata
 * log.
 *
 *   npm run bench:churn                 # 100 000 calls on the local broker (started if needed)
 *   CALLS=10000 npm run bench:churn
 *
 * The heap, directories and metadata log are read on the local broker only
 * (its pid and data directory, through the JDK's jcmd); with KAFKA_BROKERS
 * the run reports calls and topics.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { brokersFromEnv } from '../src/kafka/client';
import { listTopicsByPrefix, topicAdmin } from '../src/kafka/topic-tools';
import { LIBRARY_TOPIC_PREFIX } from '../src/naming';
import { Pipeline } from '../src/pipeline/pipeline';
import { elements, reactor, shutdownReactor } from '../src/reactor/reactor';
import { throughput } from './stats';

const CALLS = Number(process.env.CALLS ?? 100000);
const connection = { brokers: brokersFromEnv(), logLevel: 'nothing' as const };
const STATE = path.join(__dirname, '..', '.kafka', String(process.env.KAFKA_PORT ?? 9092), 'broker.json');

function progress(line: string): void {
  process.stderr.write(`[churn] ${line}\n`);
}

/** The local broker's pid and data directory, unless KAFKA_BROKERS names another cluster. */
function localBroker(): { pid: number; dataDir: string } | undefined {
  if (process.env.KAFKA_BROKERS || !existsSync(STATE)) return undefined;
  const s = JSON.parse(readFileSync(STATE, 'utf8')) as { pid: number; dataDir: string };
  return { pid: s.pid, dataDir: s.dataDir };
}

/** Heap in use after a full GC, MB (jcmd GC.run, then GC.heap_info's "used"). */
function heapAfterGc(pid: number): number {
  execFileSync('jcmd', [String(pid), 'GC.run'], { stdio: 'ignore' });
  const info = execFileSync('jcmd', [String(pid), 'GC.heap_info'], { encoding: 'utf8' });
  const used = /used (\d+)K/.exec(info);
  if (!used) throw new Error(`jcmd GC.heap_info gave no "used": ${info.slice(0, 200)}`);
  return Math.round(Number(used[1]) / 102.4) / 10;
}

function sizeKb(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(path.join(dir, f)).size;
  return Math.round(total / 1024);
}

function brokerState(b: { pid: number; dataDir: string }): { heapMB: number; deleteDirs: number; metadataLogKB: number } {
  return {
    heapMB: heapAfterGc(b.pid),
    deleteDirs: readdirSync(b.dataDir).filter((d) => d.endsWith('-delete')).length,
    metadataLogKB: sizeKb(path.join(b.dataDir, '__cluster_metadata-0')),
  };
}

async function main(): Promise<void> {
  const broker = localBroker();
  const topic = `bench.churn-echo.${process.pid}`;
  const admin = topicAdmin(connection);
  await admin.create([{ topic }]).finally(() => admin.close());
  const before = broker && brokerState(broker);
  if (before)
    progress(`before: broker heap ${before.heapMB} MB after a full GC, ${before.deleteDirs} -delete directories, metadata log ${before.metadataLogKB} KB`);
  const echo = elements<unknown, unknown>({
    connection,
    mainTopic: topic,
    groupId: `${topic}.g`,
    fromBeginning: true,
    sweepIntervalMs: 0,
    perPartitionConcurrency: 64,
  });
  await reactor<unknown, unknown>(
    () => undefined,
    (m) => m.value,
  )(echo);
  const pipeline = await new Pipeline({ connection, sweepIntervalMs: 0 }).start();
  const started = Date.now();
  let rate = 0;
  let peakDeleteDirs = 0;
  try {
    const step = Math.max(1, Math.round(CALLS / 10));
    for (let done = 0; done < CALLS; done += step) {
      rate = await throughput(() => pipeline.request(topic, { n: done }), 64, Math.min(step, CALLS - done));
      if (broker) peakDeleteDirs = Math.max(peakDeleteDirs, readdirSync(broker.dataDir).filter((d) => d.endsWith('-delete')).length);
      progress(
        `${Math.min(done + step, CALLS)} calls, ${rate} calls/s in the last ${Math.min(step, CALLS - done)}, ${peakDeleteDirs} -delete directories at most`,
      );
    }
  } finally {
    await pipeline.close();
    await shutdownReactor(echo);
    const a = topicAdmin(connection);
    await a.deleteNow([topic, `${topic}.dlq`]).finally(() => a.close());
  }
  const seconds = (Date.now() - started) / 1000;
  const left = await listTopicsByPrefix(LIBRARY_TOPIC_PREFIX, connection);
  const after = broker && brokerState(broker);
  // The deleted partitions are still held (their state and files) until log.segment.delete.delay.ms has passed: measure again then.
  let settled: ReturnType<typeof brokerState> | undefined;
  if (broker) {
    progress(`right after: broker heap ${after!.heapMB} MB, ${after!.deleteDirs} -delete directories; waiting for the broker to remove them`);
    const until = Date.now() + 180000;
    while (Date.now() < until && readdirSync(broker.dataDir).filter((d) => d.endsWith('-delete')).length > before!.deleteDirs + 10) {
      await new Promise((r) => setTimeout(r, 2000));
    }
    settled = brokerState(broker);
  }
  const lines = [
    `churn health: ${CALLS} ephemeral calls at concurrency 64 in ${Math.round(seconds)} s (${Math.round(CALLS / seconds)} calls/s)`,
    `library topics left: ${left.length} (target 0)`,
  ];
  if (before && after && settled) {
    const pct = (x: number) => Math.round(((x - before.heapMB) / before.heapMB) * 1000) / 10;
    lines.push(
      `broker heap after a full GC: ${before.heapMB} MB before, ${after.heapMB} MB right after (${pct(after.heapMB)} %), ` +
        `${settled.heapMB} MB once the deleted partitions were removed (${pct(settled.heapMB)} %, target within +20 %)`,
      `-delete directories: ${before.deleteDirs} before, ${peakDeleteDirs} at most during the run, ${after.deleteDirs} right after, ` +
        `${settled.deleteDirs} once removed (the broker removes each after log.segment.delete.delay.ms, 60 s)`,
      `metadata log (__cluster_metadata-0): ${before.metadataLogKB} KB before, ${after.metadataLogKB} KB right after, ${settled.metadataLogKB} KB at the end`,
    );
  }
  console.log(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
