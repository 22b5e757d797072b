/**
 * Dead letters, not crashes; and no message can steer a Reactor to a foreign
 * topic. Raw messages are written and read below the library, so what is
 * checked is what is on the broker.
 */
import type { DepsMap } from '../../src/dag';
import { RemoteError } from '../../src/errors';
import type { InboundMessage } from '../../src/kafka/consumer';
import { newEphemeralTopic } from '../../src/naming';
import { DEAD_LETTER_HEADERS as H } from '../../src/protocol/headers';
import { createTopics, deleteTopics, messagesWritten, testName } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

const text = (m: InboundMessage) => (m.value === null ? null : m.value.toString('utf8'));

describe('dead letters', () => {
  test('undecodable messages go to <main>.dlq with reason, origin and the raw value; the Reactor goes on', async () => {
    const errors: unknown[] = [];
    const svc = await startService<number, number>((n) => n + 1, { onError: (e) => errors.push(e) });
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x7b]);
    const replyTopic = newEphemeralTopic();
    await createTopics(replyTopic);
    try {
      await withRaw(async ({ producers, listen }) => {
        const dlq = await listen(`${svc.topic}.dlq`);
        const replies = await listen(replyTopic);
        await producers.send(svc.topic, [
          { key: 'k1', value: 'not json', headers: { tenant: 't-1' } },
          { value: '[1,2]' },
          { value: '{"returnTopic":"x"}' },
          { value: '{"data":1,"correlationId":42}' },
          { value: binary },
          { value: null },
          { value: `{"data":1,"returnTopic":"${replyTopic}","correlationId":"ok"}` },
        ]);
        await waitFor(() => replies.got.length === 1, 'the good message, sent last, to be answered');
        expect(JSON.parse(text(replies.got[0]!)!)).toEqual({ correlationId: 'ok', result: 2 });
        await waitFor(() => dlq.got.length === 6, 'six dead letters');

        const reasons = dlq.got.map((m) => m.text[H.reason]);
        expect(reasons).toEqual([
          expect.stringContaining('request is not JSON'),
          'request must be a JSON object, got an array',
          'request has no "data" field',
          'request: "correlationId" must be a non-empty string',
          'request is not valid UTF-8 (first invalid byte at offset 0 of 4); it was not altered, it was refused',
          'request has no value',
        ]);
        expect(dlq.got.map(text)).toEqual(['not json', '[1,2]', '{"returnTopic":"x"}', '{"data":1,"correlationId":42}', binary.toString('utf8'), null]);
        expect(dlq.got[4]!.value).toEqual(binary); // the bytes as they came, not a re-encoding
        const first = dlq.got[0]!;
        expect(first.keyText).toBe('k1');
        expect(first.text).toMatchObject({
          tenant: 't-1',
          [H.error]: 'ProtocolError',
          [H.code]: 'KF_PROTOCOL',
          [H.topic]: svc.topic,
          [H.partition]: '0',
          [H.offset]: '0',
          [H.group]: svc.els.options.groupId,
        });
        expect(dlq.got.map((m) => m.text[H.offset])).toEqual(['0', '1', '2', '3', '4', '5']);
        expect(Number(first.text[H.timestamp])).toBeGreaterThan(0);
      });
      expect(svc.els.deadLettered).toBe(6);
      expect(errors).toEqual([]); // dead letters are recorded, not reported as errors
    } finally {
      await deleteTopics([replyTopic]);
    }
  });

  test('a returnTopic outside the allow-list is refused: dead-lettered, never written to', async () => {
    const svc = await startService<number, number>((n) => n * 10);
    const [foreign] = await createTopics(testName('foreign'));
    const dlqTopic = `${svc.topic}.dlq`;
    const replyTopic = newEphemeralTopic();
    await createTopics(replyTopic);
    try {
      await withRaw(async ({ producers, listen }) => {
        const dlq = await listen(dlqTopic);
        const replies = await listen(replyTopic);
        const hostile = [foreign!, svc.topic, dlqTopic, 'bad topic!', `${'kafka-fusion.reply.'}${'x'.repeat(300)}`, '__consumer_offsets'];
        await producers.send(svc.topic, [
          ...hostile.map((t, i) => ({ value: JSON.stringify({ data: i, returnTopic: t, correlationId: `h${i}` }) })),
          { value: JSON.stringify({ data: 7, returnTopic: replyTopic, correlationId: 'good' }) },
        ]);
        // Messages of a partition are handled in order: once the last is answered, the others were refused.
        await waitFor(() => replies.got.length === 1, 'the allowed message, sent last, to be answered');
        expect(JSON.parse(text(replies.got[0]!)!)).toEqual({ correlationId: 'good', result: 70 });
        await waitFor(() => dlq.got.length === hostile.length, 'every hostile message dead-lettered');
        expect(dlq.got.map((m) => m.text[H.reason])).toEqual(hostile.map((t) => expect.stringContaining(`returnTopic ${JSON.stringify(t)} is not allowed`)));
      });
      expect(await messagesWritten(foreign!)).toBe(0);
      expect(await messagesWritten(dlqTopic)).toBe(6); // not one reply landed there
      expect(svc.outputs).toHaveLength(1); // refused messages were not processed
    } finally {
      await deleteTopics([replyTopic]);
    }
  });

  test('returnTopicAllowList lets a Reactor answer other topics (prefix or RegExp)', async () => {
    const svc = await startService<number, number>((n) => -n, { returnTopicAllowList: [/^kf-test-answers-/] });
    const [answers] = await createTopics(testName('answers'));
    await withRaw(async ({ producers, listen }) => {
      const replies = await listen(answers!);
      await producers.send(svc.topic, [{ value: JSON.stringify({ data: 5, returnTopic: answers, correlationId: 'c' }) }]);
      await waitFor(() => replies.got.length === 1, 'the reply on the allow-listed topic');
      expect(JSON.parse(text(replies.got[0]!)!)).toEqual({ correlationId: 'c', result: -5 });
    });
    expect(svc.els.deadLettered).toBe(0);
  });

  test('depsFn that throws and an invalid deps map: the caller gets the error, the message is dead-lettered', async () => {
    const echo = await startService<unknown, unknown>((v) => v);
    const orchestrator = await startReactor<string, unknown>(
      (m): DepsMap => {
        if (m.value === 'throw') throw new TypeError('depsFn cannot read this order');
        if (m.value === 'unknown') return { a: { topic: echo.topic, args: [], deps: ['ghost'] } };
        return { a: { topic: echo.topic, args: [m.value] } };
      },
      (_m, r) => r,
    );
    const pipeline = await startPipeline();

    const thrown = (await pipeline.request(orchestrator.topic, 'throw').catch((e: unknown) => e)) as RemoteError;
    expect(thrown).toBeInstanceOf(RemoteError);
    expect(thrown.remote).toEqual({ name: 'TypeError', message: 'depsFn cannot read this order' });
    const unknown = (await pipeline.request(orchestrator.topic, 'unknown').catch((e: unknown) => e)) as RemoteError;
    expect(unknown.remote).toEqual({ name: 'UnknownDependencyError', message: 'node "a" depends on "ghost", which is not a node of the deps map' });
    await expect(pipeline.request(orchestrator.topic, 'fine')).resolves.toEqual({ a: ['fine'] });

    await withRaw(async ({ listen }) => {
      const dlq = await listen(`${orchestrator.topic}.dlq`);
      await waitFor(() => dlq.got.length === 2, 'two dead letters');
      expect(dlq.got.map((m) => [m.text[H.error], m.text[H.code], JSON.parse(text(m)!).data])).toEqual([
        ['TypeError', 'KF_USER', 'throw'],
        ['UnknownDependencyError', 'KF_DAG_UNKNOWN_DEP', 'unknown'],
      ]);
    });
  });

  test('a fire-and-forget message that fails is dead-lettered (nobody else would hear of it); one with a caller is not', async () => {
    const svc = await startService<number, number>((n) => {
      if (n < 0) throw new RangeError(`negative: ${n}`);
      return n;
    });
    const pipeline = await startPipeline();
    await pipeline.send(svc.topic, -1);
    await expect(pipeline.request(svc.topic, -2)).rejects.toThrow('RangeError: negative: -2');
    await waitFor(() => svc.outputs.length === 2, 'both messages handled');
    expect(svc.els.deadLettered).toBe(1);
    await withRaw(async ({ listen }) => {
      const dlq = await listen(`${svc.topic}.dlq`);
      await waitFor(() => dlq.got.length === 1, 'one dead letter');
      expect(dlq.got[0]!.text[H.reason]).toBe('negative: -1');
      expect(JSON.parse(text(dlq.got[0]!)!)).toEqual({ data: -1 });
    });
  });

  test('deadLetterTopic names another topic, created at start if missing', async () => {
    const dlqTopic = testName('custom-dlq');
    const svc = await startService<number, number>((n) => n, { deadLetterTopic: dlqTopic });
    await withRaw(async ({ producers, listen }) => {
      const dlq = await listen(dlqTopic);
      await producers.send(svc.topic, [{ value: 'garbage' }]);
      await waitFor(() => dlq.got.length === 1, 'the dead letter on the configured topic');
      expect(dlq.got[0]!.text[H.topic]).toBe(svc.topic);
    });
  });

  test('a dead letter that cannot be written is not lost: the message is read again until it can be', async () => {
    const errors: unknown[] = [];
    const dlqTopic = testName('gone-dlq');
    const svc = await startService<number, number>((n) => n, { deadLetterTopic: dlqTopic, onError: (e) => errors.push(e) });
    await deleteTopics([dlqTopic]); // the dead-letter topic vanishes under a running Reactor
    await withRaw(async ({ producers }) => producers.send(svc.topic, [{ value: 'garbage' }]));
    await waitFor(() => errors.length > 0, 'the failed dead-letter write to be reported', 60000, 100);
    expect(String(errors[0])).toContain(`could not be dead-lettered to "${dlqTopic}"; it will be read again`);
    await createTopics(dlqTopic);
    await withRaw(async ({ listen }) => {
      const dlq = await listen(dlqTopic);
      await waitFor(() => dlq.got.length >= 1, 'the message dead-lettered once its topic is back', 90000, 100);
      expect(text(dlq.got[0]!)).toBe('garbage');
      expect(dlq.got[0]!.text[H.offset]).toBe('0');
    });
  }, 180000);

  test('a reply to a return topic that is gone (its caller gave up) is counted, not reported as an error', async () => {
    const errors: unknown[] = [];
    const svc = await startService<number, number>((n) => n, { onError: (e) => errors.push(e) });
    const gone = newEphemeralTopic(); // allow-listed, never created
    await withRaw(async ({ producers }) => producers.send(svc.topic, [{ value: JSON.stringify({ data: 1, returnTopic: gone, correlationId: 'late' }) }]));
    await waitFor(() => svc.els.repliesToGoneTopics === 1, 'the reply to be given up', 90000, 100);
    expect(errors).toEqual([]);
    expect(svc.els.deadLettered).toBe(0);
  }, 120000);
});
