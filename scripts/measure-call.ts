/**
 * Where one ephemeral call spends its time when it makes its own return
 * topic: topic creation (until its leader answers), handing it to the reply
 * reader (no group), round trip, and the deletion that follows (off the
 * caller's critical path). Sequential calls to an echo service on the broker
 * in use.
 *
 *   npm run measure:call              # 30 calls against the local broker (started if needed)
 *   CALLS=100 npm run measure:call
 */
import { Pipeline } from '../src/pipeline/pipeline';
import { elements, reactor, shutdownReactor } from '../src/reactor/reactor';
import { topicAdmin } from '../src/kafka/topic-tools';
import { EPHEMERAL_TOPIC_PREFIX } from '../src/naming';

const CALLS = Number(process.env.CALLS ?? 30);

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `p50 ${q(0.5).toFixed(0).padStart(5)} ms   p95 ${q(0.95).toFixed(0).padStart(5)} ms   max ${s[s.length - 1]!.toFixed(0).padStart(5)} ms`;
}

async function waitGone(admin: ReturnType<typeof topicAdmin>, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while ((await admin.list(EPHEMERAL_TOPIC_PREFIX)).length > 0) {
    if (Date.now() > end) throw new Error(`return topics still present after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const admin = topicAdmin();
  const topic = `kf-measure-echo-${process.pid}`;
  await admin.create([{ topic }]);
  const svc = elements<unknown, unknown>({ mainTopic: topic, groupId: `${topic}-g`, fetchMaxWaitMs: 100 });
  await reactor<unknown, unknown>(
    () => undefined,
    (m) => m.value,
  )(svc);
  // Each call creates its topic on its path, so that every phase is measured (no topics created ahead).
  const pipeline = await new Pipeline({ spareReturnTopics: 0 }).start();
  const phases = { createTopicMs: [] as number[], joinMs: [] as number[], roundTripMs: [] as number[], totalMs: [] as number[], deleteMs: [] as number[] };
  try {
    await pipeline.request(topic, 'warm-up');
    await waitGone(admin, 30000);
    for (let i = 0; i < CALLS; i++) {
      const out = await pipeline.call(topic, i);
      const replied = Date.now();
      await waitGone(admin, 30000); // reader lets go, topic deleted, broker's metadata says it is gone
      phases.deleteMs.push(Date.now() - replied);
      for (const k of ['createTopicMs', 'joinMs', 'roundTripMs', 'totalMs'] as const) phases[k].push(out.timings[k]);
    }
  } finally {
    await pipeline.close();
    await shutdownReactor(svc);
    await admin.deleteNow([topic]);
    await admin.close();
  }
  console.log(`one ephemeral call, ${CALLS} sequential calls to an echo service:`);
  console.log(`  create topic (leader answering) ${stats(phases.createTopicMs)}`);
  console.log(`  to the reply reader (no group)  ${stats(phases.joinMs)}`);
  console.log(`  round trip (send -> reply)      ${stats(phases.roundTripMs)}`);
  console.log(`  caller's total                  ${stats(phases.totalMs)}`);
  console.log(`  deletion after the reply (background; reader lets go + delete + gone from metadata)  ${stats(phases.deleteMs)}`);
}

main().catch((e: Error) => {
  console.error(e);
  process.exitCode = 1;
});
