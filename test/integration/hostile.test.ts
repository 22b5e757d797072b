/**
 * Nothing let in: 10 000 malformed or hostile main-topic messages, with good
 * ones interleaved. Every hostile one is dead-lettered with a reason, the
 * Reactor never crashes, nothing is written to a foreign topic, and every
 * good one is answered.
 */
import type { DepsMap } from '../../src/dag';
import { newEphemeralTopic } from '../../src/naming';
import type { OutboundMessage } from '../../src/kafka/producer';
import { DEAD_LETTER_HEADERS as H } from '../../src/protocol/headers';
import { createTopics, deleteTopics, messagesWritten, testName, connection } from '../helpers/broker';
import { closeAllAndCheckTopics, startReactor } from '../helpers/fusion';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';
import { topicAdmin } from '../../src/kafka/topic-tools';

afterEach(closeAllAndCheckTopics);

const HOSTILE = 10000;
const GOOD_EVERY = 50;
const HUGE = 800 * 1024;

/** One hostile message of each kind, in turn: wrong bytes, wrong shapes, refused topics, bad DAGs. */
function hostile(i: number, main: string, foreign: string): OutboundMessage {
  const kinds: (() => string | Buffer | null)[] = [
    () => 'not json {',
    () => '[1,2,3]',
    () => '"a string"',
    () => 'null',
    () => '{}',
    () => JSON.stringify({ data: i, returnTopic: foreign }),
    () => JSON.stringify({ data: i, returnTopic: '../etc/passwd' }),
    () => JSON.stringify({ data: i, returnTopic: main }),
    () => JSON.stringify({ data: { cycle: true } }),
    () => JSON.stringify({ data: { throw: true } }),
    () => JSON.stringify({ data: { unknownDep: true } }),
    () => JSON.stringify({ data: i, correlationId: { $ne: null } }),
    () => Buffer.from([0xc3, 0x28, i % 256, 0xa0, 0xa1]),
    () => null,
  ];
  return { key: `h${i}`, value: kinds[i % kinds.length]!() };
}

describe('hostile input', () => {
  test(`${HOSTILE} malformed or hostile messages: all dead-lettered with a reason, 0 crashes, 0 foreign writes, good ones answered`, async () => {
    const [foreign] = await createTopics(testName('foreign'));
    const main = testName('hostile-main');
    const admin = topicAdmin(connection);
    try {
      await admin.create([{ topic: main, partitions: 4 }]); // four partitions, handled four at a time
    } finally {
      await admin.close();
    }
    const replyTopic = newEphemeralTopic();
    await createTopics(replyTopic);
    const errors: unknown[] = [];
    const echoTopic = main; // never called: every DAG here fails validation first
    const svc = await startReactor<{ n?: number; cycle?: boolean; throw?: boolean; unknownDep?: boolean } | number, number>(
      (m): DepsMap | undefined => {
        const v = m.value;
        if (typeof v !== 'object' || v === null) return undefined;
        if (v.cycle) return { a: { topic: echoTopic, args: [], deps: ['b'] }, b: { topic: echoTopic, args: [], deps: ['a'] } };
        if (v.throw) throw new Error('depsFn refuses this');
        if (v.unknownDep) return { a: { topic: echoTopic, args: [], deps: ['nobody'] } };
        return undefined;
      },
      (m) => (typeof m.value === 'object' && m.value !== null ? m.value.n! * 2 : m.value),
      { mainTopic: main, partitionsConsumedConcurrently: 4, onError: (e) => errors.push(e) },
    );

    const huge = [
      { key: 'huge-1', value: 'x'.repeat(HUGE) },
      { key: 'huge-2', value: JSON.stringify({ data: 'y'.repeat(HUGE), returnTopic: foreign }) },
      { key: 'huge-3', value: `{"data":"${'z'.repeat(HUGE)}` },
    ];
    const goods: number[] = [];
    try {
      await withRaw(async ({ producers, listen }) => {
        const replies = await listen(replyTopic);
        let batch: OutboundMessage[] = [];
        for (let i = 0; i < HOSTILE; i++) {
          batch.push(hostile(i, main, foreign!));
          if (i % GOOD_EVERY === 0) {
            goods.push(i);
            batch.push({ key: `g${i}`, value: JSON.stringify({ data: { n: i }, returnTopic: replyTopic, correlationId: `g${i}` }) });
          }
          if (batch.length >= 500) {
            await producers.send(main, batch);
            batch = [];
          }
        }
        await producers.send(main, batch);
        for (const h of huge) await producers.send(main, [h]); // a batch must stay under the broker's 1 MB

        const expected = HOSTILE + huge.length;
        const dlqTopic = `${main}.dlq`;
        await waitFor(() => replies.got.length === goods.length, `${goods.length} good messages answered`, 240000, 200);
        await waitFor(async () => (await messagesWritten(dlqTopic)) >= expected, `${expected} dead letters`, 240000, 500);

        const answers = new Map(replies.got.map((r) => [r.keyText, JSON.parse(r.value!.toString())]));
        for (const i of goods) expect(answers.get(`g${i}`)).toEqual({ correlationId: `g${i}`, result: i * 2 });

        const dlq = await listen(dlqTopic);
        await waitFor(() => dlq.got.length === expected, 'every dead letter read back', 120000, 200);
        const withoutReason = dlq.got.filter((m) => !(m.text[H.reason] ?? '').trim());
        expect(withoutReason).toEqual([]);
        const keys = new Set(dlq.got.map((m) => m.keyText));
        expect(keys.size).toBe(expected); // each hostile message exactly once
        expect([...keys].every((k) => k!.startsWith('h') || k!.startsWith('huge-'))).toBe(true);
        const hugeLetters = dlq.got.filter((m) => m.keyText!.startsWith('huge-'));
        expect(hugeLetters.map((m) => m.value!.length).sort()).toEqual(huge.map((h) => Buffer.byteLength(h.value)).sort());
        const byError = new Map<string, number>();
        for (const m of dlq.got) byError.set(m.text[H.error]!, (byError.get(m.text[H.error]!) ?? 0) + 1);
        expect(Object.fromEntries(byError)).toEqual({
          ProtocolError: expect.any(Number),
          DagCycleError: expect.any(Number),
          Error: expect.any(Number),
          UnknownDependencyError: expect.any(Number),
        });
      });
      expect(await messagesWritten(foreign!)).toBe(0);
      expect(errors).toEqual([]); // no crash, no failed write
      expect(svc.els.deadLettered).toBe(HOSTILE + huge.length);
      expect(svc.els.status).toBe('running');
    } finally {
      await deleteTopics([replyTopic]);
    }
  }, 600000);
});
