import type { EachBatchPayload, KafkaMessage } from 'kafkajs';

/** What of kafkajs' eachBatch payload the concurrent handler uses. */
export type BatchControls = Pick<EachBatchPayload, 'resolveOffset' | 'isRunning' | 'isStale' | 'commitOffsetsIfNecessary'> & {
  batch: { messages: KafkaMessage[] };
};

/**
 * Up to `limit` messages of one partition's batch handled at once; offsets
 * are resolved (and so committed) strictly in order: an offset only once
 * every message before it in the partition is done. A handler that throws
 * stops the batch; the others in flight settle first, then the failure is
 * rethrown: kafkajs commits the done prefix and reads the rest again (at
 * least once).
 */
export async function handleBatchConcurrently(payload: BatchControls, handle: (message: KafkaMessage) => Promise<void>, limit: number): Promise<void> {
  const { batch, resolveOffset, isRunning, isStale, commitOffsetsIfNecessary } = payload;
  const offsets = batch.messages.map((m) => m.offset);
  const done = new Set<string>();
  let next = 0;
  const running = new Set<Promise<void>>();
  const failures: unknown[] = [];
  for (const message of batch.messages) {
    if (!isRunning() || isStale() || failures.length > 0) break;
    const work = handle(message).then(
      () => {
        done.add(message.offset);
        while (next < offsets.length && done.has(offsets[next]!)) resolveOffset(offsets[next++]!);
      },
      (e: unknown) => void failures.push(e),
    );
    running.add(work);
    void work.finally(() => running.delete(work));
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failures.length > 0) throw failures[0];
  await commitOffsetsIfNecessary();
}
