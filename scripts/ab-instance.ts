/**
 * Instance-mode round trips of one checkout's src/, for A/B comparisons
 * between commits on the same machine: prints one JSON line with requests
 * per second and CPU microseconds per request (this process: Pipeline and
 * service together) at concurrency 1 and 64.
 *
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   for i in 1 2 3 4 5; do for r in /tmp/before "$PWD"; do node --import tsx scripts/ab-instance.ts $r; done; done
 *
 * Interleave the runs and compare medians: on a shared 2-core machine one
 * run of each says little.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? '.');
const N = Number(process.argv[3] ?? 5000);
const PAYLOAD = { id: 42, items: Array.from({ length: 10 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) };

async function main(): Promise<void> {
  const lib = (await import(path.join(root, 'src', 'index.ts'))) as typeof import('../src/index');
  // Older trees exported the admin helpers from the root.
  const adminEntry = path.join(root, 'src', 'api', 'admin.ts');
  const admin = (fs.existsSync(adminEntry) ? await import(adminEntry) : lib) as typeof import('../src/api/admin');
  const connection = { logLevel: 'nothing' as const };
  const topic = `ab.echo.${process.pid}`;
  await lib.ensureTopics([{ topic }], connection);
  const svc = lib.elements<unknown, unknown>({ mainTopic: topic, groupId: `ab-${process.pid}`, connection, fetchMaxWaitMs: 100, perPartitionConcurrency: 64 });
  await lib.reactor<unknown, unknown>(
    () => undefined,
    (m) => m.value,
  )(svc);
  const pipeline = await new lib.Pipeline({ connection, replyMode: 'instance' }).start();
  try {
    for (let i = 0; i < 500; i++) await pipeline.request(topic, PAYLOAD); // warm-up
    const run = async (concurrency: number, n: number) => {
      let next = 0;
      const cpu = process.cpuUsage();
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < n) await pipeline.request(topic, PAYLOAD);
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const used = process.cpuUsage(cpu);
      return { rps: Math.round(n / seconds), cpuUsPerRequest: Math.round((used.user + used.system) / n) };
    };
    const c1 = await run(1, 1000);
    const c64 = await run(64, N);
    console.log(JSON.stringify({ root, c1, c64 }));
  } finally {
    await pipeline.close();
    await lib.shutdownReactor(svc);
    await admin.deleteTopicsByPrefix(topic, connection);
  }
}

void main();
