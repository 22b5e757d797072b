/**
 * Pluggable codecs on the real broker: MessagePack payloads travel bare
 * (fields in headers) beside JSON services in one DAG, in both reply modes;
 * what a service cannot read or write is told to its caller at once and
 * dead-lettered, never lost.
 */
import { decode, encode } from '@msgpack/msgpack';
import type { DepsMap } from '../../src/dag';
import { RemoteError } from '../../src/errors';
import type { Codec } from '../../src/protocol/codec';
import { DEAD_LETTER_HEADERS as H } from '../../src/protocol/headers';
import { messagesWritten } from '../helpers/broker';
import { closeAllAndCheckTopics, startPipeline, startReactor, startService } from '../helpers/fusion';
import { texts } from '../helpers/bytes';
import { withRaw } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

afterEach(closeAllAndCheckTopics);

const msgpack: Codec = { contentType: 'application/msgpack', encode: (v) => encode(v), decode: (b) => decode(b) };

test('a MessagePack DAG: bytes survive every msgpack hop, a JSON service takes part in the same DAG, both reply modes', async () => {
  const seen: Record<string, Record<string, string>> = {};
  // Echo what arrived, and whether the binary field is still bytes.
  const packed = await startService<unknown[], unknown>((args) => ({ args, binary: args[0] instanceof Uint8Array }), { codec: msgpack });
  const json = await startReactor<unknown[], unknown>(
    () => undefined,
    (m) => ((seen.json = texts(m.headers)), { count: m.value.length }),
  );
  const orchestrator = await startReactor<{ bin: Uint8Array }, unknown>(
    (m): DepsMap => ({
      eph: { topic: packed.topic, args: [m.value.bin] },
      inst: { topic: packed.topic, args: [m.value.bin], replyMode: 'instance' },
      plain: { topic: json.topic, args: ['x'], deps: ['eph'], wire: 'envelope' },
    }),
    (m, r) => ((seen.orchestrator = texts(m.headers)), r),
    { codec: msgpack },
  );
  const pipeline = await startPipeline({ codec: msgpack });
  const bin = new Uint8Array([0, 1, 254, 255]);

  const result = (await pipeline.request(orchestrator.topic, { bin })) as Record<string, { args: unknown[]; binary?: boolean; count?: number }>;
  expect(result.eph).toEqual({ args: [bin], binary: true });
  expect(result.inst).toEqual({ args: [bin], binary: true });
  // The JSON service got its args in the envelope, with the msgpack result of "eph" injected.
  expect(result.plain).toEqual({ count: 2 });
  expect(seen.orchestrator!['kafka-fusion.content-type']).toBe('application/msgpack');
  expect(seen.json!['kafka-fusion.content-type']).toBeUndefined();
  expect(seen.json!.kafka_replyTopic).toMatch(/^kafka-fusion\.reply\./);
});

test('a request in a content type the service does not read: its caller is told at once, the request is dead-lettered', async () => {
  const plain = await startService<unknown, unknown>((v) => v);
  const pipeline = await startPipeline({ codec: msgpack });
  const started = Date.now();
  const error = (await pipeline.request(plain.topic, { a: 1 }, { timeoutMs: 60000 }).catch((e: unknown) => e)) as RemoteError;
  expect(error).toBeInstanceOf(RemoteError);
  expect(error.remote).toEqual({
    name: 'ProtocolError',
    message: 'request is "application/msgpack", which this service does not decode (its codec is application/json)',
  });
  expect(Date.now() - started).toBeLessThan(60000);
  await waitFor(() => plain.els.deadLettered === 1, 'the dead letter');
  await withRaw(async ({ listen }) => {
    const dlq = await listen(`${plain.topic}.dlq`);
    await waitFor(() => dlq.got.length === 1, 'the dead letter on its topic');
    expect(decode(dlq.got[0]!.value!)).toEqual({ a: 1 }); // as it came
    expect(dlq.got[0]!.text[H.code]).toBe('KF_PROTOCOL');
  });
  // The service goes on serving.
  await expect((await startPipeline()).request(plain.topic, 'still here')).resolves.toBe('still here');
});

test('a result the codec cannot encode: the caller gets an error saying so, the request is dead-lettered, the service goes on', async () => {
  const svc = await startService<string, unknown>((v) => (v === 'big' ? { n: 10n } : v));
  const pipeline = await startPipeline();
  const error = (await pipeline.request(svc.topic, 'big').catch((e: unknown) => e)) as RemoteError;
  expect(error).toBeInstanceOf(RemoteError);
  expect(error.remote.name).toBe('ProtocolError');
  expect(error.remote.message).toContain('the result cannot be encoded as JSON: Do not know how to serialize a BigInt');
  await waitFor(() => svc.els.deadLettered === 1, 'the dead letter');
  await expect(pipeline.request(svc.topic, 'small')).resolves.toBe('small');
  expect(await messagesWritten(`${svc.topic}.dlq`)).toBe(1);
});
