/**
 * One Reactor process of `npm run bench:scale`: a service in group <group>
 * on <topic> that answers each request after <workMs> ms of CPU work (a
 * stand-in for a service's own work). Prints `ready` once consuming and
 * `partitions <n>` whenever its share of the topic changes.
 *
 *   scale-worker <topic> <group> <workMs>
 */
import { brokersFromEnv } from '../src/kafka/client';
import { elements, reactor, shutdownReactor } from '../src/reactor/reactor';

function busy(ms: number): void {
  const until = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (process.hrtime.bigint() < until);
}

async function main(): Promise<void> {
  const [topic, groupId, work] = process.argv.slice(2);
  if (!topic || !groupId || work === undefined) throw new Error('usage: scale-worker <topic> <group> <workMs>');
  const workMs = Number(work);
  let held = 0;
  const els = elements<unknown, unknown>({
    connection: { brokers: brokersFromEnv(), logLevel: 'nothing' },
    mainTopic: topic,
    groupId,
    fromBeginning: true,
    partitionsConsumedConcurrently: 12,
    fetchMaxWaitMs: 100,
    sweepIntervalMs: 0,
    onPartitionsAssigned: (p) => console.log(`partitions ${(held += p.length)}`),
    onPartitionsRevoked: (p) => console.log(`partitions ${(held -= p.length)}`),
    onError: (e) => console.error(`scale-worker: ${(e as Error).message}`),
  });
  await reactor<unknown, unknown>(
    () => undefined,
    (m) => {
      busy(workMs);
      return m.value;
    },
  )(els);
  console.log('ready');
  process.on('SIGTERM', () => void shutdownReactor(els).then(() => process.exit(0)));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
