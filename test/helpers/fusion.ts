import { Subject } from 'rxjs';
import { elements, reactor, shutdownReactor, type Reactor } from '../../src/reactor/reactor';
import type { ReactorOptions } from '../../src/reactor/options';
import type { DepsFn, ProcFn, ReactorOutput } from '../../src/reactor/types';
import { Pipeline, type PipelineOptions } from '../../src/pipeline/pipeline';
import { connection, createTopics, deleteTopics, ephemeralTopicsOnBroker, testName } from './broker';
import { waitFor } from './wait';

type Closer = () => Promise<void>;
const closers: Closer[] = [];

/** Close this when the test ends, pass or fail (idempotent closes make a double close harmless). */
export function closeAfterTest(close: Closer): void {
  closers.push(close);
}

/** Short fetch waits and joins so that tests stay quick; nothing else differs from production defaults. */
export async function startReactor<T, R>(
  depsFn: DepsFn<T>,
  procFn: ProcFn<T, R>,
  options: Partial<ReactorOptions<T, R>> & { mainTopic?: string } = {},
): Promise<{ els: Reactor<T, R>; topic: string; outputs: ReactorOutput<T, R>[] }> {
  const topic = options.mainTopic ?? (await createTopics(testName('main')))[0]!;
  const subject = options.subject ?? new Subject<ReactorOutput<T, R>>();
  const outputs: ReactorOutput<T, R>[] = [];
  subject.subscribe((o) => outputs.push(o));
  const els = elements<T, R>({
    connection,
    groupId: testName('group'),
    fromBeginning: true,
    callTimeoutMs: 30000,
    fetchMaxWaitMs: 100,
    onError: (e) => console.error('reactor error in test:', e),
    ...options,
    mainTopic: topic,
    subject,
  });
  closers.push(() => shutdownReactor(els));
  await reactor(depsFn, procFn)(els);
  return { els, topic, outputs };
}

/** A dependency service: a Reactor with no deps. */
export async function startService<T, R>(procFn: (value: T) => R | Promise<R>, options: Partial<ReactorOptions<T, R>> = {}) {
  return startReactor<T, R>(
    () => undefined,
    (m) => procFn(m.value),
    options,
  );
}

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const p = new Pipeline({ connection, callTimeoutMs: 60000, ...options });
  closers.push(() => p.close());
  return p.start();
}

/** Close everything the test started (last first), then prove no return topic was left. */
export async function closeAllAndCheckTopics(): Promise<void> {
  const errors: unknown[] = [];
  while (closers.length > 0) {
    try {
      await closers.pop()!();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
  await waitFor(async () => (await ephemeralTopicsOnBroker()).length === 0, 'no ephemeral topic on the broker', 30000, 200).catch(async (e) => {
    const left = await ephemeralTopicsOnBroker();
    await deleteTopics(left); // so that one leak fails one test, not every test after it
    throw new Error(`${(e as Error).message}; left: ${left.join(', ')}`);
  });
}
