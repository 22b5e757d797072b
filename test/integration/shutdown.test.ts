import { Subject } from 'rxjs';
import type { DepsMap } from '../../src/dag';
import { ConfigError, RemoteError, StateError } from '../../src/errors';
import { Pipeline } from '../../src/pipeline/pipeline';
import { elements, reactor, shutdownReactor } from '../../src/reactor/reactor';
import type { ReactorOutput } from '../../src/reactor/types';
import { connection, createTopics, ephemeralTopicsOnBroker, testName } from '../helpers/broker';
import { closeAfterTest, closeAllAndCheckTopics, startPipeline, startService } from '../helpers/fusion';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

describe('shutdownReactor', () => {
  test('with a call in progress: drains up to drainTimeoutMs, aborts the call, answers the caller, deletes its topics, completes the Subject', async () => {
    const [main, silent] = await createTopics(testName('main'), testName('silent'));
    const subject = new Subject<ReactorOutput>();
    const outputs: ReactorOutput[] = [];
    let completed = false;
    subject.subscribe({ next: (o) => outputs.push(o), complete: () => (completed = true) });
    // No return topics created ahead: the one topic owned is the stuck call's.
    const els = elements({
      connection,
      mainTopic: main!,
      groupId: testName('g'),
      fromBeginning: true,
      subject,
      drainTimeoutMs: 1000,
      fetchMaxWaitMs: 100,
      spareReturnTopics: 0,
    });
    closeAfterTest(() => shutdownReactor(els)); // if an assertion fails first
    // A dependency on a topic nobody serves: the call can only end by timeout (60 s) or shutdown.
    await reactor<unknown, unknown>(
      (): DepsMap => ({ stuck: { topic: silent!, args: [] } }),
      () => 'unreachable',
    )(els);
    const pipeline = await startPipeline();

    const answer = pipeline.request(main!, {}, { timeoutMs: 60000 }).catch((e: unknown) => e);
    // A topic is owned from the moment its creation starts: wait until it is on the broker.
    await waitFor(
      async () => els.ownedTopics.length === 1 && (await ephemeralTopicsOnBroker()).includes(els.ownedTopics[0]!),
      "the return topic of the Reactor's call to be on the broker",
    );
    const [returnTopic] = els.ownedTopics;

    const started = Date.now();
    await shutdownReactor(els);
    const tookMs = Date.now() - started;

    expect(tookMs).toBeLessThan(30000); // bounded by the drain, not by the 60 s call deadline
    expect(els.status).toBe('stopped');
    expect(completed).toBe(true);
    expect(els.ownedTopics).toEqual([]);
    expect(await ephemeralTopicsOnBroker()).not.toContain(returnTopic);
    const error = (await answer) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.remote.message).toContain('reactor shut down with a message still in progress after 1000 ms');
    expect(outputs).toHaveLength(1);
    expect(outputs[0]!.error).toBeDefined();
    // Idempotent, and a stopped Reactor cannot be started again.
    await expect(shutdownReactor(els)).resolves.toBeUndefined();
    await expect(
      els.start(
        () => undefined,
        () => 1,
      ),
    ).rejects.toBeInstanceOf(StateError);
  });

  test('idle Reactor: shutdown is prompt and a second Reactor in the same group takes over', async () => {
    const [main] = await createTopics(testName('main'));
    const groupId = testName('g');
    const first = elements<number, number>({ connection, mainTopic: main!, groupId, fromBeginning: true, fetchMaxWaitMs: 100 });
    closeAfterTest(() => shutdownReactor(first));
    await reactor<number, number>(
      () => undefined,
      (m) => m.value + 1,
    )(first);
    const pipeline = await startPipeline();
    await expect(pipeline.request(main!, 1)).resolves.toBe(2);
    await shutdownReactor(first);

    const second = elements<number, number>({ connection, mainTopic: main!, groupId, fromBeginning: true, fetchMaxWaitMs: 100 });
    closeAfterTest(() => shutdownReactor(second));
    await reactor<number, number>(
      () => undefined,
      (m) => m.value + 100,
    )(second);
    try {
      await expect(pipeline.request(main!, 1)).resolves.toBe(101);
    } finally {
      await shutdownReactor(second);
    }
  });

  test('a Reactor on a topic that does not exist fails to start with a clear error, ends "failed" and leaves nothing open', async () => {
    const missing = testName('missing');
    const els = elements({ connection, mainTopic: missing, groupId: testName('g') });
    await expect(
      reactor<unknown, unknown>(
        () => undefined,
        () => 1,
      )(els),
    ).rejects.toThrow(/does not exist; create it first/);
    expect(els.status).toBe('failed');
    // A second start says why the first failed, instead of "this one is starting" for good.
    await expect(
      els.start(
        () => undefined,
        () => 1,
      ),
    ).rejects.toThrow(
      new StateError(
        `a Reactor starts once; this one failed to start (mainTopic: topic "${missing}" does not exist; create it first (e.g. ensureTopics)): make a new one with elements()`,
      ),
    );
    await shutdownReactor(els);
    expect(els.status).toBe('failed');
  });

  test('shutdown() while start() is under way: the start ends (or completes first), shutdown resolves, the Reactor ends stopped', async () => {
    const [main] = await createTopics(testName('main'));
    const els = elements({ connection, mainTopic: main!, groupId: testName('g'), fetchMaxWaitMs: 100 });
    const starting = reactor<unknown, unknown>(
      () => undefined,
      () => 1,
    )(els);
    expect(els.status).toBe('starting');
    const stopping = shutdownReactor(els);
    await starting.catch(() => undefined);
    await stopping;
    expect(els.status).toBe('stopped');
  });

  test('a malformed broker list fails at elements(), naming the option, before any start', () => {
    expect(() => elements({ mainTopic: 'x', groupId: 'g', connection: { brokers: ['not a broker'] } })).toThrow(
      new ConfigError('connection.brokers', 'expected a non-empty list of "host:port", got ["not a broker"]'),
    );
    expect(() => new Pipeline({ connection: { brokers: [] } })).toThrow(
      new ConfigError('connection.brokers', 'expected a non-empty list of "host:port", got []'),
    );
  });

  test('Pipeline.close() rejects requests in flight and deletes their return topics', async () => {
    const [silent] = await createTopics(testName('silent'));
    // No return topics created ahead: the one on the broker is the request's (spares deleted at close: ephemeral.test.ts).
    const pipeline = new Pipeline({ connection, spareReturnTopics: 0 });
    closeAfterTest(() => pipeline.close());
    await pipeline.start();
    const pending = pipeline.request(silent!, 1, { timeoutMs: 60000 }).catch((e: unknown) => e);
    await waitFor(async () => (await ephemeralTopicsOnBroker()).length === 1, 'the return topic of the request');
    await pipeline.close();
    const error = await pending;
    expect(error).toBeInstanceOf(StateError);
    expect((error as Error).message).toBe('requester is shutting down');
    expect(await ephemeralTopicsOnBroker()).toEqual([]);
    await expect(pipeline.request(silent!, 1)).rejects.toThrow('pipeline is stopped');
  });

  test('a dependency service keeps answering while its callers come and go', async () => {
    const svc = await startService<string, string>((s) => s.toUpperCase());
    for (let i = 0; i < 3; i++) {
      const p = await startPipeline();
      await expect(p.request(svc.topic, `call ${i}`)).resolves.toBe(`CALL ${i}`);
      await p.close();
    }
  });
});
