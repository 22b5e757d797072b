/**
 * Bytes are bytes, on the broker: binary keys and header values written by
 * a raw producer come back byte for byte on replies, dead letters and
 * dependency calls; a value that is not UTF-8 is refused, never answered
 * with altered data (issue 12, each point of it).
 */
import type { DepsMap } from '../../src/dag';
import { newEphemeralTopic } from '../../src/naming';
import type { ReplyMode } from '../../src/reply-mode';
import { DEAD_LETTER_HEADERS as H, INTEROP_HEADERS } from '../../src/protocol/headers';
import { createTopics, deleteTopics } from '../helpers/broker';
import { closeAllAndCheckTopics, startReactor, startService } from '../helpers/fusion';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
/** The key: not UTF-8. */
const BINARY_KEY = hex('ff fe 80 6b c3 28');
/** Header values no text decoding keeps: a schema-registry id, a traceparent ending in 0xff, a large binary blob. */
const binaryHeaders = () => ({
  'x-schema': Buffer.concat([Buffer.from([0]), hex('00 00 00 2a'), Buffer.alloc(63, 0xfe)]), // 68 bytes
  'x-blob': Buffer.from(Array.from({ length: 10240 }, (_, i) => (i * 131) % 256)),
  traceparent: Buffer.concat([Buffer.from('00-0af7651916cd43dd'), hex('ff ff ff')]),
});

/** Reply topics a test writes requests to by hand, deleted after it. */
async function withReplyTopic<T>(fn: (topic: string) => Promise<T>): Promise<T> {
  const [topic] = await createTopics(newEphemeralTopic());
  try {
    return await fn(topic!);
  } finally {
    await deleteTopics([topic!]);
  }
}

const envelope = (returnTopic: string, correlationId: string, data: unknown = [1, 2]) => JSON.stringify({ data, returnTopic, correlationId });

test('a binary key comes back unchanged on the reply, from a service and from an orchestrator', async () => {
  const svc = await startService<number[], number>((xs) => xs.reduce((a, b) => a + b, 0));
  const orchestrator = await startReactor<number[], unknown>(
    (m): DepsMap => ({ sum: { topic: svc.topic, args: m.value } }),
    (_m, r) => r.sum,
  );
  await withReplyTopic(async (replyTopic) =>
    withRaw(async ({ producers, listen }) => {
      const replies = await listen(replyTopic);
      await producers.send(svc.topic, [{ key: BINARY_KEY, value: envelope(replyTopic, 'svc') }]);
      await producers.send(orchestrator.topic, [{ key: BINARY_KEY, value: envelope(replyTopic, 'dag') }]);
      await waitFor(() => replies.got.length === 2, 'both replies');
      for (const reply of replies.got) {
        expect(reply.key!.toString('hex')).toBe(BINARY_KEY.toString('hex'));
        expect(JSON.parse(reply.value!.toString('utf8')).result).toBe(3);
      }
    }),
  );
  // depsFn and procFn saw the bytes too.
  expect(svc.outputs[0]!.message.key!.equals(BINARY_KEY)).toBe(true);
});

test('a dead letter is the message as it came: key, value and every header byte for byte (a repeated one too)', async () => {
  const svc = await startService<number, number>((n) => n);
  await withRaw(async ({ producers, listen }) => {
    const dlq = await listen(`${svc.topic}.dlq`);
    const headers = { ...binaryHeaders(), repeated: [hex('01 ff'), Buffer.from('second')] };
    const garbage = hex('7b ff 00 fe');
    await producers.send(svc.topic, [{ key: BINARY_KEY, value: garbage, headers }]);
    await waitFor(() => dlq.got.length === 1, 'the dead letter');
    const letter = dlq.got[0]!;
    expect(letter.key!.equals(BINARY_KEY)).toBe(true);
    expect(letter.value!.equals(garbage)).toBe(true);
    for (const [name, value] of Object.entries(binaryHeaders())) {
      expect({ name, length: (letter.headers[name] as Buffer).length, same: (letter.headers[name] as Buffer).equals(value) }).toEqual({
        name,
        length: value.length,
        same: true,
      });
    }
    expect(letter.headers.repeated).toEqual([hex('01 ff'), Buffer.from('second')]);
    expect(letter.text[H.reason]).toBe('request is not valid UTF-8 (first invalid byte at offset 1 of 4); it was not altered, it was refused');
  });
});

describe.each<ReplyMode>(['ephemeral', 'instance'])('headers that travel (%s calls)', (replyMode) => {
  test('binary headers reach the dependency call and the reply byte for byte', async () => {
    const seenByDep: Record<string, Buffer>[] = [];
    const dep = await startReactor<unknown, string>(
      () => undefined,
      (m) => (seenByDep.push(m.headers), 'ok'),
    );
    const orchestrator = await startReactor<unknown, unknown>(
      (): DepsMap => ({ call: { topic: dep.topic, args: [], replyMode } }),
      (_m, r) => r.call,
    );
    await withReplyTopic(async (replyTopic) =>
      withRaw(async ({ producers, listen }) => {
        const replies = await listen(replyTopic);
        const repeated = [hex('01 ff'), Buffer.from('second')];
        await producers.send(orchestrator.topic, [{ key: 'k', value: envelope(replyTopic, 'h-1'), headers: { ...binaryHeaders(), repeated } }]);
        await waitFor(() => replies.got.length === 1, 'the reply');
        for (const [name, value] of Object.entries(binaryHeaders())) {
          expect({ name, atDep: seenByDep[0]![name]!.equals(value), onReply: (replies.got[0]!.headers[name] as Buffer).equals(value) }).toEqual({
            name,
            atDep: true,
            onReply: true,
          });
        }
        // A repeated name travels with every value, in order; depsFn and procFn see its last.
        expect(replies.got[0]!.headers.repeated).toEqual(repeated);
        expect(seenByDep[0]!.repeated).toEqual(Buffer.from('second'));
        expect(JSON.parse(replies.got[0]!.value!.toString('utf8'))).toEqual({ correlationId: 'h-1', result: 'ok' });
      }),
    );
  });
});

test('a value that is not UTF-8 is refused (dead letter with the reason, an error reply where its headers say), never answered with altered data', async () => {
  const svc = await startService<unknown, unknown>((data) => ({ echo: data }));
  await withReplyTopic(async (replyTopic) =>
    withRaw(async ({ producers, listen }) => {
      const dlq = await listen(`${svc.topic}.dlq`);
      const replies = await listen(replyTopic);
      // {"data":"<ff fe c3 28 ed a0 80>",...}: the bytes inside a JSON string.
      const value = Buffer.concat([
        Buffer.from('{"data":"'),
        hex('ff fe c3 28 ed a0 80'),
        Buffer.from(`","returnTopic":"${replyTopic}","correlationId":"u-1"}`),
      ]);
      const route = { [INTEROP_HEADERS.replyTopic]: replyTopic, [INTEROP_HEADERS.correlationId]: 'u-1' };
      await producers.send(svc.topic, [
        { key: 'with-route', value, headers: route },
        { key: 'no-route', value },
      ]);
      await waitFor(() => dlq.got.length === 2 && replies.got.length === 1, 'two dead letters and one error reply');
      const reason = `request is not valid UTF-8 (first invalid byte at offset 9 of ${value.length}); it was not altered, it was refused`;
      expect(dlq.got.map((m) => [m.keyText, m.text[H.reason], m.text[H.code], m.value!.equals(value)])).toEqual([
        ['with-route', reason, 'KF_PROTOCOL', true],
        ['no-route', reason, 'KF_PROTOCOL', true],
      ]);
      const reply = replies.got[0]!;
      expect(reply.text[INTEROP_HEADERS.correlationId]).toBe('u-1');
      expect(JSON.parse(reply.text['kafka-fusion.error']!)).toEqual({ name: 'ProtocolError', message: reason });
      expect(svc.outputs).toEqual([]); // no result was made from it
    }),
  );
});

test('the dead-letter reason for a JSON null says null', async () => {
  const svc = await startService<number, number>((n) => n);
  await withRaw(async ({ producers, listen }) => {
    const dlq = await listen(`${svc.topic}.dlq`);
    await producers.send(svc.topic, [{ value: 'null' }]);
    await waitFor(() => dlq.got.length === 1, 'the dead letter');
    expect(dlq.got[0]!.text[H.reason]).toBe('request must be a JSON object, got null');
  });
});
