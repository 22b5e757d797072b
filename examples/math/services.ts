/**
 * The math services of fusion-clj's README, as kafka-fusion Reactors:
 * three dependency services (add, subtract, multiply) and one orchestrator
 * (calc) whose deps map chains them. Run them on their own with
 * `npm run example:services` and call them from any Kafka client
 * (docs/protocol.md); the topics are listed in this folder's README.
 */
import { Subject } from 'rxjs';
import {
  elements,
  ensureTopics,
  prependResults,
  reactor,
  shutdownReactor,
  type ConnectionOptions,
  type DepsMap,
  type Reactor,
  type ReactorOutput,
} from '../../src';

export const TOPICS = {
  add: 'math.add',
  subtract: 'math.subtract',
  multiply: 'math.multiply',
  calc: 'math.calc',
} as const;

/** Input of the calc orchestrator. */
export interface CalcRequest {
  numbers: number[];
  subtract: number;
  multiply: number;
}

export type CalcResult = { one: number; two: number; three: number; answer: number };

function numbers(value: unknown, service: string): number[] {
  if (!Array.isArray(value) || value.some((n) => typeof n !== 'number')) {
    throw new TypeError(`${service} takes an array of numbers, got ${JSON.stringify(value)}`);
  }
  return value as number[];
}

/** calc: one = add(numbers); two = subtract(one, subtract); three = multiply(multiply, two). */
export function calcDeps(req: CalcRequest): DepsMap {
  return {
    one: { topic: TOPICS.add, args: req.numbers },
    two: { topic: TOPICS.subtract, args: [req.subtract], argIn: prependResults, deps: ['one'] },
    three: { topic: TOPICS.multiply, args: [req.multiply], deps: ['two'] },
  };
}

export interface MathServices {
  calcOutputs: Subject<ReactorOutput<CalcRequest, CalcResult>>;
  shutdown: () => Promise<void>;
}

export async function startMathServices(connection: ConnectionOptions = {}): Promise<MathServices> {
  await ensureTopics(
    Object.values(TOPICS).map((topic) => ({ topic, partitions: 2 })),
    connection,
  );
  const started: Reactor<any, any>[] = [];
  const service = async (topic: string, fn: (xs: number[]) => number) => {
    const els = elements<unknown, number>({ connection, mainTopic: topic, groupId: `${topic}.service`, fromBeginning: true });
    started.push(els);
    await reactor<unknown, number>(
      () => undefined,
      (m) => fn(numbers(m.value, topic)),
    )(els);
  };
  const calcOutputs = new Subject<ReactorOutput<CalcRequest, CalcResult>>();
  try {
    await Promise.all([
      service(TOPICS.add, (xs) => xs.reduce((a, b) => a + b, 0)),
      service(TOPICS.subtract, (xs) => xs.slice(1).reduce((a, b) => a - b, xs[0] ?? 0)),
      service(TOPICS.multiply, (xs) => xs.reduce((a, b) => a * b, 1)),
    ]);
    const calc = elements<CalcRequest, CalcResult>({
      connection,
      mainTopic: TOPICS.calc,
      groupId: `${TOPICS.calc}.service`,
      fromBeginning: true,
      subject: calcOutputs,
    });
    started.push(calc);
    await reactor<CalcRequest, CalcResult>(
      (m) => calcDeps(m.value),
      (_m, r) => ({ one: r.one as number, two: r.two as number, three: r.three as number, answer: r.three as number }),
    )(calc);
  } catch (e) {
    await Promise.all(started.map((s) => shutdownReactor(s).catch(() => undefined)));
    throw e;
  }
  return { calcOutputs, shutdown: async () => void (await Promise.all(started.map((s) => shutdownReactor(s)))) };
}

if (require.main === module) {
  void (async () => {
    const services = await startMathServices();
    console.log(`math services running on topics ${Object.values(TOPICS).join(', ')}; Ctrl-C to stop`);
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await services.shutdown();
      console.log('stopped');
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  })().catch((e: Error) => {
    console.error(e.message);
    process.exitCode = 1;
  });
}
