/**
 * Deadlines: a request carries the moment its caller stops waiting; a
 * Reactor does not start work past it, bounds its DAG by it (and by its own
 * messageTimeoutMs), passes it on to every dependency, and does not answer
 * when nobody is waiting. A reply the broker refuses for good is not a
 * silent loss either.
 */
import type { DepsMap } from '../../src/dag';
import { CallTimeoutError, DeadlineError, RemoteError } from '../../src/errors';
import { newEphemeralTopic } from '../../src/naming';
import { DEAD_LETTER_HEADERS as H } from '../../src/protocol/headers';
import type { ReactorMessage } from '../../src/reactor/types';
import { createTopics, deleteTopics } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

/** A dependency that holds every request until the test lets it go, and records what it was sent. */
async function gatedService() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const seen: ReactorMessage<unknown>[] = [];
  const svc = await startReactor<unknown, string>(
    () => undefined,
    async (m) => {
      seen.push(m);
      await gate;
      return 'late';
    },
  );
  return { ...svc, seen, open };
}

describe('deadlines', () => {
  test("the caller's deadline travels with the request to every dependency; past it the DAG stops and nobody is answered", async () => {
    const slow = await gatedService();
    const orchestrator = await startReactor<number, unknown>(
      (): DepsMap => ({ wait: { topic: slow.topic, args: [] } }),
      (_m, r) => r,
      { callTimeoutMs: 60000 },
    );
    const pipeline = await startPipeline();

    const sentAt = Date.now();
    const error = await pipeline.request(orchestrator.topic, 1, { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallTimeoutError);

    await waitFor(() => orchestrator.outputs.length === 1, "the orchestrator's DAG to give up at the deadline");
    const out = orchestrator.outputs[0]!;
    const deadline = out.message.deadline!;
    expect(deadline).toBeGreaterThanOrEqual(sentAt + 3000);
    expect(deadline).toBeLessThanOrEqual(Date.now());
    expect(out.error).toBeInstanceOf(DeadlineError);
    expect((out.error as DeadlineError).deadline).toBe(deadline);
    // The dependency was told the same deadline (no later), and was not waited for past it.
    expect(slow.seen).toHaveLength(1);
    expect(slow.seen[0]!.deadline).toBeLessThanOrEqual(deadline);
    expect(orchestrator.els.expired).toBe(1); // its error reply was not written: nobody waits
    slow.open();
    await waitFor(() => slow.els.expired === 1, 'the dependency to finish, and not answer either');
  });

  test('messageTimeoutMs bounds a whole DAG even when its caller would wait longer: the caller gets a DeadlineError', async () => {
    const slow = await gatedService();
    const orchestrator = await startReactor<number, unknown>(
      (): DepsMap => ({ first: { topic: slow.topic, args: [] }, second: { topic: slow.topic, args: [], deps: ['first'] } }),
      (_m, r) => r,
      { callTimeoutMs: 60000, messageTimeoutMs: 2000 },
    );
    const pipeline = await startPipeline();

    const error = (await pipeline.request(orchestrator.topic, 1, { timeoutMs: 60000 }).catch((e: unknown) => e)) as RemoteError;
    slow.open();
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remote.name).toBe('DeadlineError');
    expect(error.remote.message).toMatch(/the DAG's deadline .* passed/);
    expect(slow.seen).toHaveLength(1); // "second" never started
    // The Subject hears of a message after its reply is written: wait for it.
    await waitFor(() => orchestrator.outputs.length === 1, 'the failed run on the Subject');
    // The call was given the DAG's deadline, not the caller's minute.
    expect(slow.seen[0]!.deadline!).toBeLessThan(orchestrator.outputs[0]!.message.deadline! - 30000);
  });

  test('a request already past its deadline when it is read is not worked on; the next one is', async () => {
    let calls = 0;
    const svc = await startService<number, number>((n) => (calls++, n * 10));
    const replyTopic = newEphemeralTopic();
    await createTopics(replyTopic);
    try {
      await withRaw(async ({ producers, listen }) => {
        const replies = await listen(replyTopic);
        const request = (data: number, correlationId: string, deadline: number) => ({
          value: JSON.stringify({ data, returnTopic: replyTopic, correlationId, deadline }),
        });
        await producers.send(svc.topic, [request(1, 'gone', Date.now() - 1000), request(2, 'waiting', Date.now() + 120000)]);
        await waitFor(() => replies.got.length === 1, 'the request still awaited to be answered');
        expect(JSON.parse(replies.got[0]!.value!.toString('utf8'))).toEqual({ correlationId: 'waiting', result: 20 });
        await waitFor(() => svc.outputs.length === 2, 'both messages on the Subject');
      });
    } finally {
      await deleteTopics([replyTopic]);
    }
    expect(calls).toBe(1);
    expect(svc.els.expired).toBe(1);
    const skipped = svc.outputs.find((o) => o.message.correlationId === 'gone')!;
    expect(skipped.error).toBeInstanceOf(DeadlineError);
    expect((skipped.error as Error).message).toContain('not started');
  });
});

describe('a deadline further than a timer can wait', () => {
  test('is no deadline at all: the DAG runs and is answered (a 24.8-day timer would fire at once)', async () => {
    const echo = await startService<unknown[], string>((args) => `echo ${args.join(',')}`);
    const orchestrator = await startReactor<number, unknown>(
      (m): DepsMap => ({ e: { topic: echo.topic, args: [m.value] } }),
      (_m, r) => r,
    );
    const replyTopic = newEphemeralTopic();
    await createTopics(replyTopic);
    try {
      await withRaw(async ({ producers, listen }) => {
        const replies = await listen(replyTopic);
        await producers.send(orchestrator.topic, [
          { value: JSON.stringify({ data: 7, returnTopic: replyTopic, correlationId: 'far', deadline: Number.MAX_SAFE_INTEGER }) },
        ]);
        await waitFor(() => replies.got.length === 1, 'the answer');
        expect(JSON.parse(replies.got[0]!.value!.toString('utf8'))).toEqual({ correlationId: 'far', result: { e: 'echo 7' } });
      });
    } finally {
      await deleteTopics([replyTopic]);
    }
  });
});

describe('replies the broker refuses', () => {
  test('a result too large to write: the caller gets an error at once instead of a timeout, and the request is dead-lettered', async () => {
    const errors: unknown[] = [];
    const svc = await startService<number, string>((n) => 'x'.repeat(n), { onError: (e) => errors.push(e) });
    const pipeline = await startPipeline();
    await withRaw(async ({ listen }) => {
      const dlq = await listen(`${svc.topic}.dlq`);
      await expect(pipeline.request(svc.topic, 10)).resolves.toBe('x'.repeat(10));
      const error = (await pipeline.request(svc.topic, 2_000_000, { timeoutMs: 60000 }).catch((e: unknown) => e)) as RemoteError;
      expect(error).toBeInstanceOf(RemoteError);
      expect(error.remote.name).toBe('TransportError');
      expect(error.remote.message).toMatch(/could not reply to "kafka-fusion\.reply\..*larger than the max message size/);
      await waitFor(() => dlq.got.length === 1, 'the request in the dead-letter topic');
      const letter = dlq.got[0]!;
      expect(JSON.parse(letter.value!.toString('utf8')).data).toBe(2_000_000);
      expect(letter.text[H.reason]).toContain('could not reply');
      await expect(pipeline.request(svc.topic, 3)).resolves.toBe('xxx'); // and it goes on
    });
    expect(svc.els.deadLettered).toBe(1);
    expect(errors).toEqual([]);
  });
});
