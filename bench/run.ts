/**
 * npm run bench: kafka-fusion against the limit of its stack and against
 * the peers, all in one run on one broker with one payload. Prints a table
 * and the ratios of issue 5's targets; writes bench/results/latest.json.
 *
 *   npm run bench                 # the local broker (started if needed)
 *   KAFKA_BROKERS=h:9092 npm run bench
 *   BENCH_QUICK=1 npm run bench   # fewer requests (a smoke run)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brokersFromEnv } from '../src/kafka/client';
import { createKafka, resolveConnection } from '../src/kafka/client';
import { EPHEMERAL_TOPIC_PREFIX, LIBRARY_TOPIC_PREFIX, newEphemeralTopic } from '../src/naming';
import { listTopicsByPrefix, topicAdmin } from '../src/kafka/topic-tools';
import { Pipeline, type PipelineOptions } from '../src/pipeline/pipeline';
import { elements, reactor, shutdownReactor, type Reactor } from '../src/reactor/reactor';
import type { DepsMap } from '../src/dag';
import { nestKafka } from './nest';
import { platformaticKafka } from './platformatic';
import { rawKafkajs, type RoundTrip } from './raw-kafkajs';
import { latency, median, throughput, type Latency } from './stats';

const QUICK = process.env.BENCH_QUICK === '1';
const brokers = brokersFromEnv();
const connection = { brokers, logLevel: 'nothing' as const };
const tag = `${process.pid}`;
/** The payload of every request, in every scenario. */
const PAYLOAD = { id: 42, items: Array.from({ length: 10 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) };
const respond = (data: unknown) => data;

const N_LATENCY = QUICK ? 100 : 1000;
const N_THROUGHPUT = QUICK ? 500 : 5000;
const N_EPHEMERAL = QUICK ? 300 : 2000;
const N_MEMORY = QUICK ? 10000 : 100000;
const PER_PARTITION = Number(process.env.BENCH_PER_PARTITION ?? 64);

function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function ensureTopics(topics: string[]): Promise<void> {
  const admin = topicAdmin(connection);
  try {
    const missing = [];
    for (const t of topics) if (!(await admin.exists(t))) missing.push({ topic: t });
    if (missing.length > 0) await admin.create(missing);
  } finally {
    await admin.close();
  }
}

async function deleteTopics(topics: string[]): Promise<void> {
  const admin = topicAdmin(connection);
  try {
    await admin.deleteNow(topics);
  } finally {
    await admin.close();
  }
}

/**
 * A dependency service: a Reactor with no deps that answers after `ms` (0: at
 * once). It takes up to 64 messages of its partition at once
 * (perPartitionConcurrency; offsets still committed in order, after each
 * reply is written), as NestJS's server does not wait for a reply to be
 * written before it takes the next message.
 */
async function service(name: string, ms = 0, answer: (v: unknown) => unknown = respond): Promise<Reactor> {
  const topic = `bench.${name}.${tag}`;
  await ensureTopics([topic]);
  const els = elements<unknown, unknown>({
    connection,
    mainTopic: topic,
    groupId: `${topic}.g`,
    fromBeginning: true,
    sweepIntervalMs: 0,
    perPartitionConcurrency: PER_PARTITION,
  });
  await reactor<unknown, unknown>(
    () => undefined,
    async (m) => {
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      return answer(m.value);
    },
  )(els);
  return els;
}

interface Row {
  name: string;
  /** Medians of where a call's time went (kafka-fusion rows), ms. */
  phases?: Record<string, number>;
  latency: Latency;
  /** Requests per second by concurrency. */
  throughput: Record<string, number>;
}

async function measure(name: string, call: (i: number) => Promise<unknown>, nLatency: number, nThroughput: number, concurrencies = [1, 16, 64]): Promise<Row> {
  progress(`${name}: latency over ${nLatency} sequential calls`);
  const lat = await latency(call, nLatency);
  const tp: Record<string, number> = {};
  for (const c of concurrencies) {
    progress(`${name}: throughput at concurrency ${c} (${nThroughput} calls)`);
    tp[`c${c}`] = await throughput(call, c, nThroughput);
  }
  return { name, latency: lat, throughput: tp };
}

async function roundTrip(name: string, open: () => Promise<RoundTrip>): Promise<Row> {
  const rt = await open();
  try {
    return await measure(name, () => rt.call(PAYLOAD), N_LATENCY, N_THROUGHPUT);
  } finally {
    await rt.close();
  }
}

async function fusion(
  mode: 'instance' | 'ephemeral',
  echo: Reactor,
  n: number,
  nThroughput: number,
  concurrencies?: number[],
  options: PipelineOptions = {},
  suffix = '',
): Promise<Row> {
  const pipeline = await new Pipeline({ connection, replyMode: mode, sweepIntervalMs: 0, ...options } satisfies PipelineOptions).start();
  const phases = { createTopicMs: [] as number[], joinMs: [] as number[], roundTripMs: [] as number[] };
  try {
    const row = await measure(
      `kafka-fusion ${mode}${suffix}`,
      async () => {
        const { timings } = await pipeline.call(echo.options.mainTopic, PAYLOAD);
        for (const k of ['createTopicMs', 'joinMs', 'roundTripMs'] as const) phases[k].push(timings[k]);
      },
      n,
      nThroughput,
      concurrencies,
    );
    return { ...row, phases: { createTopicMs: median(phases.createTopicMs), joinMs: median(phases.joinMs), roundTripMs: median(phases.roundTripMs) } };
  } finally {
    await pipeline.close();
  }
}

/**
 * What the broker allows for return topics: one admin creating topics and
 * then deleting them, one CreateTopics and one DeleteTopics per batch, one
 * batch at a time; topics per second (each created and deleted) by batch
 * size. In KRaft each request goes to the controller one at a time and
 * commits after controller.quorum.append.linger.ms: topics in a request are
 * nearly free, requests are not (issue 16's yardstick for ephemeral calls).
 */
async function topicChurn(batches: number[], topicsEach: number): Promise<Record<string, number>> {
  const admin = createKafka(resolveConnection(connection)).admin();
  await admin.connect();
  const rates: Record<string, number> = {};
  try {
    for (const batch of batches) {
      const rounds = Math.max(2, Math.ceil(topicsEach / batch));
      const started = performance.now();
      for (let r = 0; r < rounds; r++) {
        const topics = Array.from({ length: batch }, () => newEphemeralTopic());
        await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: false });
        await admin.deleteTopics({ topics });
      }
      rates[`batch ${batch}`] = Math.round((rounds * batch) / ((performance.now() - started) / 1000));
      progress(`topic churn, batches of ${batch}: ${rates[`batch ${batch}`]} topics/s`);
    }
  } finally {
    await admin.disconnect();
  }
  return rates;
}

/**
 * What the broker allows for return topics that can be used: as topicChurn,
 * but each batch is waited for until every new partition's leader answers
 * (a ListOffsets), as kafka-fusion waits before a topic serves a call. The
 * broker makes each new partition's log one at a time, a few ms each: that,
 * not the CreateTopics request, is what bounds ephemeral calls.
 */
async function readyChurn(batch: number, topicsEach: number): Promise<number> {
  const admin = topicAdmin(connection);
  try {
    const rounds = Math.max(2, Math.ceil(topicsEach / batch));
    const started = performance.now();
    for (let r = 0; r < rounds; r++) {
      const topics = Array.from({ length: batch }, () => newEphemeralTopic());
      const { failed } = await admin.createBatch(topics, 60000, EPHEMERAL_TOPIC_PREFIX);
      if (failed.size > 0) throw new Error(`ready churn: ${failed.size} topics not ready: ${[...failed.values()][0]!.message}`);
      const undeleted = await admin.deleteBatch(topics);
      if (undeleted.size > 0) throw new Error(`ready churn: ${undeleted.size} topics not deleted`);
    }
    const rate = Math.round((rounds * batch) / ((performance.now() - started) / 1000));
    progress(`ready-topic churn, batches of ${batch}: ${rate} topics/s`);
    return rate;
  } finally {
    await admin.close();
  }
}

/**
 * Issue 16's second broker: Kafka's defaults (group.initial.rebalance.delay.ms
 * 3000, as users' clusters and managed services run), started on another
 * port for this part only. Start times of a Reactor (its main consumer's
 * group join included) and of a Pipeline in each mode, and sequential
 * ephemeral and instance calls once the broker is warm.
 */
async function defaultBroker(): Promise<Record<string, number>> {
  const port = Number(process.env.BENCH_DEFAULT_PORT ?? 9192);
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_PORT: String(port), KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '3000' };
  delete env.KAFKA_BROKERS;
  const script = path.join(__dirname, '..', 'scripts', 'broker.ts');
  const run = (verb: string) => execFileSync(process.execPath, ['--import', 'tsx', script, verb], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  progress(`a broker with Kafka's defaults on port ${port}`);
  run('up');
  const conn = { ...connection, brokers: [`127.0.0.1:${port}`] };
  const out: Record<string, number> = {};
  try {
    const topic = `bench.default-echo.${tag}`;
    const admin = topicAdmin(conn);
    await admin.create([{ topic }]).finally(() => admin.close());
    // Read from its end (the default): the start pins the new group's offsets first, without joining it.
    let t0 = performance.now();
    const echo = elements<unknown, unknown>({
      connection: conn,
      mainTopic: topic,
      groupId: `${topic}.g`,
      sweepIntervalMs: 0,
      perPartitionConcurrency: PER_PARTITION,
    });
    await reactor<unknown, unknown>(
      () => undefined,
      (m) => respond(m.value),
    )(echo);
    out['Reactor start ms'] = Math.round(performance.now() - t0);
    try {
      // A broker just started runs cold (its JIT): warm it as the tuned one was, before anything is timed.
      progress('default broker: warm-up');
      const warm = await new Pipeline({ connection: conn, replyMode: 'instance', sweepIntervalMs: 0 }).start();
      await throughput(() => warm.request(topic, PAYLOAD), 16, QUICK ? 1000 : 5000);
      await warm.close();
      const warmEphemeral = await new Pipeline({ connection: conn, sweepIntervalMs: 0 }).start();
      await throughput(() => warmEphemeral.request(topic, PAYLOAD), 16, QUICK ? 300 : 1000);
      await warmEphemeral.close();
      for (const mode of ['ephemeral', 'instance'] as const) {
        t0 = performance.now();
        const pipeline = await new Pipeline({ connection: conn, replyMode: mode, sweepIntervalMs: 0 }).start();
        out[`Pipeline start ms, ${mode}`] = Math.round(performance.now() - t0);
        try {
          const lat = await latency(() => pipeline.request(topic, PAYLOAD), N_EPHEMERAL);
          out[`${mode} p50 ms`] = lat.p50;
          out[`${mode} p99 ms`] = lat.p99;
          progress(`default broker, ${mode}: start ${out[`Pipeline start ms, ${mode}`]} ms, p50 ${lat.p50.toFixed(2)} ms`);
        } finally {
          await pipeline.close();
        }
      }
    } finally {
      await shutdownReactor(echo);
    }
  } finally {
    run('down');
  }
  return out;
}

/** Diamond (a; b, c after a; d after b, c) vs the same four nodes one by one, through a Reactor in instance mode. */
async function diamond(): Promise<{ msEach: Record<string, number>; parallelMs: number; sequentialMs: number; longestPathMs: number; sumMs: number }> {
  const msEach = { a: 20, b: 300, c: 300, d: 20 };
  const svcs = {
    a: await service('diamond-a', msEach.a),
    b: await service('diamond-b', msEach.b),
    c: await service('diamond-c', msEach.c),
    d: await service('diamond-d', msEach.d),
  };
  const t = (k: keyof typeof svcs) => svcs[k].options.mainTopic;
  const orchestrator = async (name: string, deps: DepsMap) => {
    const topic = `bench.${name}.${tag}`;
    await ensureTopics([topic]);
    const els = elements<unknown, unknown>({
      connection,
      mainTopic: topic,
      groupId: `${topic}.g`,
      fromBeginning: true,
      sweepIntervalMs: 0,
      replyMode: 'instance',
    });
    await reactor<unknown, unknown>(
      () => deps,
      (_m, r) => r,
    )(els);
    return els;
  };
  const parallel = await orchestrator('diamond', {
    a: { topic: t('a'), args: [] },
    b: { topic: t('b'), args: [], deps: ['a'] },
    c: { topic: t('c'), args: [], deps: ['a'] },
    d: { topic: t('d'), args: [], deps: ['b', 'c'] },
  });
  const sequential = await orchestrator('chain', {
    a: { topic: t('a'), args: [] },
    b: { topic: t('b'), args: [], deps: ['a'] },
    c: { topic: t('c'), args: [], deps: ['b'] },
    d: { topic: t('d'), args: [], deps: ['c'] },
  });
  const pipeline = await new Pipeline({ connection, replyMode: 'instance', sweepIntervalMs: 0 }).start();
  const wall = async (els: Reactor) => {
    const times: number[] = [];
    for (let i = 0; i < (QUICK ? 3 : 9); i++) {
      const t0 = performance.now();
      await pipeline.request(els.options.mainTopic, i);
      times.push(performance.now() - t0);
    }
    return Math.round(median(times));
  };
  try {
    await wall(parallel); // warm-up: every reply path connected
    await wall(sequential);
    progress('diamond DAG vs a chain of the same nodes');
    return {
      msEach,
      parallelMs: await wall(parallel),
      sequentialMs: await wall(sequential),
      longestPathMs: msEach.a + Math.max(msEach.b, msEach.c) + msEach.d,
      sumMs: msEach.a + msEach.b + msEach.c + msEach.d,
    };
  } finally {
    await pipeline.close();
    for (const els of [parallel, sequential, ...Object.values(svcs)]) await shutdownReactor(els);
  }
}

/** RSS and heap around N instance-mode requests (one process holds both Pipeline and service). */
async function memory(echo: Reactor): Promise<{ requests: number; rssMB: number[]; heapMB: number[]; rssChangePct: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
  const sample = () => {
    gc?.();
    const m = process.memoryUsage();
    return [mb(m.rss), mb(m.heapUsed)] as const;
  };
  const pipeline = await new Pipeline({ connection, replyMode: 'instance', sweepIntervalMs: 0 }).start();
  try {
    const warm = Math.round(N_MEMORY / 10);
    progress(`memory: warm-up of ${warm} requests`);
    await throughput(() => pipeline.request(echo.options.mainTopic, PAYLOAD), 64, warm);
    const before = sample();
    const rss = [before[0]];
    const heap = [before[1]];
    const step = N_MEMORY / 4;
    for (let done = 0; done < N_MEMORY; done += step) {
      await throughput(() => pipeline.request(echo.options.mainTopic, PAYLOAD), 64, step);
      const s = sample();
      rss.push(s[0]);
      heap.push(s[1]);
      progress(`memory: ${done + step} requests, rss ${s[0]} MB, heap ${s[1]} MB`);
    }
    return { requests: N_MEMORY, rssMB: rss, heapMB: heap, rssChangePct: Math.round(((rss[rss.length - 1]! - rss[0]!) / rss[0]!) * 1000) / 10 };
  } finally {
    await pipeline.close();
  }
}

const fmt = (x: number) => x.toFixed(2).padStart(8);

async function main(): Promise<void> {
  const started = Date.now();
  const echo = await service('echo');
  const rows: Row[] = [];
  let extra: Record<string, unknown> = {};
  try {
    rows.push(await roundTrip('raw kafkajs', () => rawKafkajs(brokers, tag, respond)));
    rows.push(await fusion('instance', echo, N_LATENCY, N_THROUGHPUT));
    // What Spring's two headers on every envelope request cost (interopHeaders: false leaves them out).
    rows.push(await fusion('instance', echo, N_LATENCY, N_THROUGHPUT, undefined, { interopHeaders: false }, ', no interop headers'));
    // The broker's own pace, without the default cap of 200 return topics a second (maxReturnTopicsPerSecond); first, while the
    // broker holds few deleted partitions (each waits 60 s for deletion and slows the next creations).
    rows.push(await fusion('ephemeral', echo, N_EPHEMERAL, N_EPHEMERAL, undefined, { maxReturnTopicsPerSecond: 0 }, ', no cap'));
    rows.push(await fusion('ephemeral', echo, N_EPHEMERAL, N_EPHEMERAL));
    rows.push(await roundTrip('NestJS ClientKafka', () => nestKafka(brokers, tag, respond, ensureTopics)));
    rows.push(await roundTrip('raw @platformatic/kafka', () => platformaticKafka(brokers, tag, respond, ensureTopics, deleteTopics)));
    progress('topic churn: create and delete in batches');
    const churn = await topicChurn([1, 16, 64, 256], QUICK ? 64 : 512);
    churn['ready, batch 256'] = await readyChurn(256, QUICK ? 512 : 1024);
    const dia = await diamond();
    const mem = await memory(echo);
    const onDefaults = await defaultBroker();
    extra = { churn, diamond: dia, memory: mem, defaultBroker: onDefaults };
  } finally {
    await shutdownReactor(echo);
    await deleteTopics([echo.options.mainTopic, echo.options.deadLetterTopic]);
  }
  const left = await listTopicsByPrefix(LIBRARY_TOPIC_PREFIX, connection);

  const row = (name: string) => rows.find((r) => r.name === name)!;
  const {
    churn,
    diamond: dia,
    memory: mem,
    defaultBroker: onDefaults,
  } = extra as {
    churn: Record<string, number>;
    defaultBroker: Record<string, number>;
    diamond: Awaited<ReturnType<typeof diamond>>;
    memory: Awaited<ReturnType<typeof memory>>;
  };
  const ratios = {
    'instance p50 / raw kafkajs p50 (target <= 1.3)': row('kafka-fusion instance').latency.p50 / row('raw kafkajs').latency.p50,
    'instance throughput c64 / NestJS c64 (target >= 2)': row('kafka-fusion instance').throughput.c64! / row('NestJS ClientKafka').throughput.c64!,
    'ephemeral c64, no cap, calls/s (target >= 1000)': row('kafka-fusion ephemeral, no cap').throughput.c64!,
    'ephemeral c64, no cap / topic churn in batches of 256 (target >= 0.25)': row('kafka-fusion ephemeral, no cap').throughput.c64! / churn['batch 256']!,
    'ephemeral c64, no cap / ready-topic churn in batches of 256': row('kafka-fusion ephemeral, no cap').throughput.c64! / churn['ready, batch 256']!,
    'ephemeral p50, no cap / instance p50 (target <= 2)': row('kafka-fusion ephemeral, no cap').latency.p50 / row('kafka-fusion instance').latency.p50,
    'ephemeral p99, no cap / instance p99 (target <= 10)': row('kafka-fusion ephemeral, no cap').latency.p99 / row('kafka-fusion instance').latency.p99,
    'ephemeral p50, capped at 200/s / instance p50': row('kafka-fusion ephemeral').latency.p50 / row('kafka-fusion instance').latency.p50,
    'default broker: ephemeral p50 / tuned ephemeral p50 (target <= 1.5)': onDefaults['ephemeral p50 ms']! / row('kafka-fusion ephemeral').latency.p50,
    'default broker: Pipeline start ms, slower mode (target < 1000)': Math.max(
      onDefaults['Pipeline start ms, ephemeral']!,
      onDefaults['Pipeline start ms, instance']!,
    ),
    'default broker: Reactor start ms (target < 1000)': onDefaults['Reactor start ms']!,
    'diamond sequential / parallel (target >= 1.8)': dia.sequentialMs / dia.parallelMs,
    'RSS change after warm-up, % (target within +-10)': mem.rssChangePct,
    'library topics left (target 0)': left.length,
    'raw @platformatic/kafka p50 / raw kafkajs p50': row('raw @platformatic/kafka').latency.p50 / row('raw kafkajs').latency.p50,
  };

  const lines = [
    `kafka-fusion bench: ${new Date().toISOString()}, ${os.cpus().length} cores, node ${process.version}, brokers ${brokers.join(',')}${QUICK ? ' (quick)' : ''}`,
    '',
    `${'scenario'.padEnd(43)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)}   ${'req/s c1'.padStart(9)} ${'c16'.padStart(7)} ${'c64'.padStart(7)}`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(43)} ${fmt(r.latency.p50)} ${fmt(r.latency.p95)} ${fmt(r.latency.p99)}   ${String(r.throughput.c1 ?? '-').padStart(9)} ${String(r.throughput.c16 ?? '-').padStart(7)} ${String(r.throughput.c64 ?? '-').padStart(7)}`,
    ),
    '',
    `within ephemeral calls (medians): waiting for a return topic ${row('kafka-fusion ephemeral').phases!.createTopicMs} ms, round trip ${row('kafka-fusion ephemeral').phases!.roundTripMs} ms`,
    `a broker with Kafka's defaults: ${Object.entries(onDefaults)
      .map(([k, v]) => `${k} ${Math.round(v * 100) / 100}`)
      .join(', ')}`,
    `topic churn (create then delete, one request each per batch; "ready": leaders answering before the delete), topics/s: ${Object.entries(churn)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `diamond (a ${dia.msEach.a}, b ${dia.msEach.b}, c ${dia.msEach.c}, d ${dia.msEach.d} ms): parallel ${dia.parallelMs} ms (longest path ${dia.longestPathMs}), one by one ${dia.sequentialMs} ms (sum ${dia.sumMs})`,
    `memory over ${mem.requests} instance-mode requests after warm-up: RSS ${mem.rssMB.join(' -> ')} MB, heap ${mem.heapMB.join(' -> ')} MB`,
    `library topics left on the broker: ${left.length}${left.length ? ` (${left.join(', ')})` : ''}`,
    '',
    ...Object.entries(ratios).map(([k, v]) => `${k.padEnd(62)} ${Number.isFinite(v) ? (Math.round(v * 100) / 100).toString() : String(v)}`),
    '',
    `total ${Math.round((Date.now() - started) / 1000)} s`,
  ];
  console.log(lines.join('\n'));
  const out = path.join(__dirname, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, 'latest.json'),
    `${JSON.stringify({ at: new Date().toISOString(), quick: QUICK, machine: { cores: os.cpus().length, node: process.version, memoryGiB: Math.round(os.totalmem() / 2 ** 30) }, brokers, payload: PAYLOAD, rows, ...extra, topicsLeft: left, ratios }, null, 2)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
