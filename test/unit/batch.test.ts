import type { KafkaMessage } from 'kafkajs';
import { handleBatchConcurrently, type BatchControls } from '../../src/kafka/batch';

/** A batch of messages at offsets 0..n-1 and a record of what the handler did to kafkajs' controls. */
function fakeBatch(n: number) {
  const resolved: string[] = [];
  let commits = 0;
  const payload: BatchControls = {
    batch: { messages: Array.from({ length: n }, (_, i) => ({ offset: String(i) }) as KafkaMessage) },
    resolveOffset: (o: string) => void resolved.push(o),
    isRunning: () => true,
    isStale: () => false,
    commitOffsetsIfNecessary: async () => void commits++,
  };
  return { payload, resolved, commits: () => commits };
}

/** Handlers that finish only when the test says so, each recording when it started. */
function controlledHandler() {
  const pending = new Map<string, { resolve: () => void; reject: (e: unknown) => void }>();
  let inFlight = 0;
  let maxInFlight = 0;
  const handle = (m: KafkaMessage) =>
    new Promise<void>((resolve, reject) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.set(m.offset, {
        resolve: () => (inFlight--, resolve()),
        reject: (e) => (inFlight--, reject(e)),
      });
    });
  return { handle, pending, maxInFlight: () => maxInFlight };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('handleBatchConcurrently: concurrent within a partition, committed in order', () => {
  test('runs up to the limit at once and resolves offsets only as a contiguous prefix completes', async () => {
    const { payload, resolved, commits } = fakeBatch(6);
    const h = controlledHandler();
    const run = handleBatchConcurrently(payload, h.handle, 3);
    await flush();
    expect([...h.pending.keys()]).toEqual(['0', '1', '2']); // three at once, no more
    h.pending.get('2')!.resolve();
    h.pending.get('1')!.resolve();
    await flush();
    expect(resolved).toEqual([]); // 1 and 2 are done, but 0 is not: nothing may be committed
    expect([...h.pending.keys()]).toEqual(['0', '1', '2', '3', '4']); // their places were taken
    h.pending.get('0')!.resolve();
    await flush();
    expect(resolved).toEqual(['0', '1', '2']);
    for (const o of ['5', '4', '3']) {
      await flush();
      h.pending.get(o)?.resolve();
    }
    h.pending.get('5')!.resolve();
    await run;
    expect(resolved).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(h.maxInFlight()).toBe(3);
    expect(commits()).toBe(1);
  });

  test('a failure stops the batch after the others settle, and nothing at or after it is resolved', async () => {
    const { payload, resolved, commits } = fakeBatch(5);
    const h = controlledHandler();
    const run = handleBatchConcurrently(payload, h.handle, 2);
    await flush();
    h.pending.get('0')!.resolve();
    await flush();
    h.pending.get('2')!.resolve(); // done, but after the one that fails
    await flush();
    expect([...h.pending.keys()]).toEqual(['0', '1', '2', '3']); // 2's place was taken by 3
    h.pending.get('1')!.reject(new Error('dead letter could not be written'));
    await flush();
    let settled = false;
    void run.catch(() => (settled = true));
    await flush();
    expect(settled).toBe(false); // 3 is still in flight: the batch waits for it
    h.pending.get('3')!.resolve();
    await expect(run).rejects.toThrow('dead letter could not be written');
    expect(resolved).toEqual(['0']); // kafkajs reads 1.. again
    expect([...h.pending.keys()]).toEqual(['0', '1', '2', '3']); // 4 never started
    expect(commits()).toBe(0);
  });

  test('stops taking messages when the consumer stops running', async () => {
    const { payload, resolved } = fakeBatch(4);
    let running = true;
    payload.isRunning = () => running;
    const started: string[] = [];
    const run = handleBatchConcurrently(
      payload,
      async (m) => {
        started.push(m.offset);
        running = false;
      },
      1,
    );
    await run;
    expect(started).toEqual(['0']);
    expect(resolved).toEqual(['0']);
  });
});
