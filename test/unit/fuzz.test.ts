/**
 * Every decoder of untrusted input, fuzzed (fast-check): the request
 * envelope, the reply envelope, the headers format, NestJS and Spring
 * forms, the interop headers. Random bytes and random mutations of valid
 * messages never raise anything but the library's typed errors, a decoder
 * never "repairs" bytes that are not UTF-8 into JSON, and every valid
 * message round-trips byte for byte. RUNS below add up to the cases run:
 * 105,000.
 */
import { isUtf8 } from 'node:buffer';
import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { FusionError } from '../../src/errors';
import { toBytes, writableHeaders, type MessageHeaders, type OutboundHeaders } from '../../src/protocol/bytes';
import { JSON_CODEC, type Codec } from '../../src/protocol/codec';
import { decodeReply, decodeRequest, type RequestEnvelope } from '../../src/protocol/envelope';
import { INTEROP_HEADERS, isTravellingHeader, travellingHeaders, WIRE_HEADERS } from '../../src/protocol/headers';
import {
  BARE_JSON,
  correlationIdText,
  DEFAULT_ENCODING,
  decodeRequestMessage,
  encodeReplyMessage,
  encodeRequestMessage,
  parseReply,
  replyContent,
  replyPartitionOf,
  type Encoding,
  type ReplyContent,
} from '../../src/protocol/wire';

const msgpack: Codec = { contentType: 'application/msgpack', encode: (v) => encode(v), decode: (b) => decode(b) };
const MSGPACK: Encoding = { codec: msgpack, wire: 'headers' };
const QUIET: Encoding = { ...DEFAULT_ENCODING, interopHeaders: false };
const ENCODINGS = [DEFAULT_ENCODING, QUIET, BARE_JSON, MSGPACK];

/** Cases per property; their sum (105,000) is what the suite runs. */
const RUNS = { requests: 15000, replies: 15000, randomRequests: 20000, randomReplies: 15000, mutations: 25000, interop: 10000, travelling: 5000 };

/** Headers as a consumer reads them: every value bytes. */
function asRead(headers: OutboundHeaders): MessageHeaders {
  const out = Object.create(null) as Record<string, Buffer | Buffer[]>;
  for (const [k, v] of Object.entries(headers)) out[k] = Array.isArray(v) ? v.map(toBytes) : toBytes(v);
  return out;
}

const bytesOf = (v: Buffer | string | null): Buffer | null => (v === null ? null : toBytes(v));

/** Runs `decode`; anything thrown must be one of the library's typed errors. */
async function typedOnly<T>(decodeIt: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    return { ok: true, value: await decodeIt() };
  } catch (e) {
    if (!(e instanceof FusionError)) throw new Error(`a decoder threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a FusionError`);
    return { ok: false };
  }
}

// Data any JSON-based format must carry: every code point, lone UTF-16 surrogates too (JSON escapes them), numbers, nesting.
const loneSurrogate = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff');
// (No "__proto__" key: @msgpack/msgpack, the test's MessagePack codec, decodes one as the object's prototype.)
const data = fc
  .jsonValue({ maxDepth: 3, stringUnit: fc.oneof(loneSurrogate, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) })
  .filter((d) => !JSON.stringify(d).includes('"__proto__"'));
const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
const userHeaderName = fc.string({ minLength: 1, maxLength: 12 }).filter((n) => !n.startsWith('kafka') && !n.startsWith('__'));
const headerBytes = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u));
const userHeaders = fc.dictionary(userHeaderName, fc.oneof(headerBytes, fc.string({ maxLength: 20 })), { maxKeys: 4 });
const request: fc.Arbitrary<RequestEnvelope> = fc.record(
  { data, returnTopic: fc.stringMatching(/^[a-zA-Z0-9._-]{1,60}$/), correlationId: text, deadline: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) },
  { requiredKeys: ['data'] },
);
const encoding = fc.constantFrom(...ENCODINGS);
const outcome: fc.Arbitrary<ReplyContent> = fc.oneof(
  data.map((result) => ({ result })),
  fc.record({ name: text, message: fc.string({ unit: 'binary' }) }).map((error) => ({ error })),
);

/** The same bytes: value and headers. */
function sameParts(a: { value: Buffer | string | null; headers: OutboundHeaders }, b: { value: Buffer | string | null; headers: OutboundHeaders }): boolean {
  const va = bytesOf(a.value);
  const vb = bytesOf(b.value);
  if ((va === null) !== (vb === null) || (va && vb && !va.equals(vb))) return false;
  const ha = asRead(a.headers) as Record<string, Buffer>;
  const hb = asRead(b.headers) as Record<string, Buffer>;
  return Object.keys(ha).length === Object.keys(hb).length && Object.keys(ha).every((k) => hb[k] !== undefined && ha[k]!.equals(hb[k]!));
}

test('a valid request, in every encoding and with any user headers, decodes to itself and encodes again to the same bytes', async () => {
  await fc.assert(
    fc.asyncProperty(request, encoding, userHeaders, async (req, enc, headers) => {
      const parts = await encodeRequestMessage(req, enc, headers);
      const got = await decodeRequestMessage(bytesOf(parts.value), asRead(parts.headers), msgpack);
      const { encoding: readAs, ...decoded } = got;
      expect(JSON.stringify(decoded.data)).toBe(JSON.stringify(req.data ?? null));
      expect({ ...decoded, data: undefined }).toEqual({ ...req, data: undefined });
      expect(sameParts(await encodeRequestMessage(decoded, readAs.wire === enc.wire && readAs.codec === enc.codec ? enc : readAs, headers), parts)).toBe(true);
    }),
    { numRuns: RUNS.requests },
  );
});

test('a valid reply (result or error), in every encoding, reads back as itself and encodes again to the same bytes', async () => {
  await fc.assert(
    fc.asyncProperty(text, outcome, encoding, userHeaders, async (id, out, enc, headers) => {
      const parts = await encodeReplyMessage(id, out, enc, headers);
      const reply = parseReply(bytesOf(parts.value), asRead(parts.headers));
      expect(reply.correlationId).toBe(id);
      const content = await replyContent(reply, enc.codec);
      if ('error' in out) expect(content).toEqual({ error: out.error });
      else expect(JSON.stringify((content as { result: unknown }).result)).toBe(JSON.stringify(out.result ?? null));
      expect(sameParts(await encodeReplyMessage(id, content, enc, headers), parts)).toBe(true);
    }),
    { numRuns: RUNS.replies },
  );
});

// Headers an attacker controls: the protocol's names with any bytes, and others.
const protocolName = fc.constantFrom(...Object.values(INTEROP_HEADERS), ...Object.values(WIRE_HEADERS));
// kafkajs gives a repeated name as an array, a header with no value as null (inside an array too).
const anyHeaderValue = fc.oneof(
  headerBytes,
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('application/json', 'application/msgpack', 'kafka-fusion.reply.x', '1764100000000', '3'),
  fc.constant(null),
  fc.array(fc.option(headerBytes, { nil: null }), { maxLength: 3 }),
);
const anyHeaders: fc.Arbitrary<MessageHeaders> = fc.dictionary(fc.oneof(protocolName, userHeaderName), anyHeaderValue, { maxKeys: 6 });
const anyValue = fc.oneof(
  fc.constant(null),
  headerBytes,
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
  data.map((d) => Buffer.from(JSON.stringify(d))),
);

/** A JSON decode that succeeded was given UTF-8 (or nothing): bytes are never repaired into text. */
function neverRepaired(value: Buffer | null, readAs: Encoding): void {
  if (value !== null && value.length > 0 && readAs.codec === JSON_CODEC) expect(isUtf8(value)).toBe(true);
}

test('random requests: decoded, or refused with a typed error; JSON is read only from UTF-8', async () => {
  await fc.assert(
    fc.asyncProperty(anyValue, anyHeaders, fc.constantFrom(JSON_CODEC, msgpack), async (value, headers, own) => {
      const r = await typedOnly(() => decodeRequestMessage(value, headers, own));
      if (r.ok) neverRepaired(value, r.value.encoding);
      await typedOnly(() => decodeRequest(value));
    }),
    { numRuns: RUNS.randomRequests },
  );
});

test('random replies: routed, or refused with a typed error; decoding their payload raises only typed errors', async () => {
  await fc.assert(
    fc.asyncProperty(anyValue, anyHeaders, fc.constantFrom(JSON_CODEC, msgpack), async (value, headers, codec) => {
      const r = await typedOnly(() => parseReply(value, headers));
      if (r.ok) {
        const content = await typedOnly(() => replyContent(r.value, codec));
        if (content.ok && 'payload' in r.value && r.value.contentType !== 'application/msgpack' && codec === JSON_CODEC) neverRepaired(value, DEFAULT_ENCODING);
      }
      await typedOnly(() => decodeReply(value));
    }),
    { numRuns: RUNS.randomReplies },
  );
});

type Mutation = { at: number; kind: 'flip' | 'insert' | 'delete' | 'truncate'; byte: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate'),
  byte: fc.integer({ min: 0, max: 255 }),
});

function mutate(bytes: Buffer | null, m: Mutation): Buffer | null {
  if (bytes === null || bytes.length === 0) return m.kind === 'insert' ? Buffer.from([m.byte]) : bytes;
  const at = m.at % bytes.length;
  if (m.kind === 'flip') return Buffer.concat([bytes.subarray(0, at), Buffer.from([bytes[at]! ^ (m.byte || 0x80)]), bytes.subarray(at + 1)]);
  if (m.kind === 'insert') return Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
  if (m.kind === 'delete') return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
  return bytes.subarray(0, at);
}

test('mutations of valid requests and replies (value bytes, header bytes, a header dropped): typed errors only, nothing repaired', async () => {
  await fc.assert(
    fc.asyncProperty(
      request,
      text,
      outcome,
      encoding,
      userHeaders,
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      fc.nat(),
      fc.option(mutation),
      fc.boolean(),
      async (req, id, out, enc, headers, ms, pick, headerMutation, drop) => {
        for (const parts of [await encodeRequestMessage(req, enc, headers), await encodeReplyMessage(id, out, enc, headers)]) {
          const value = ms.reduce<Buffer | null>((b, m) => mutate(b, m), bytesOf(parts.value));
          const read = { ...asRead(parts.headers) } as Record<string, Buffer | Buffer[] | undefined>;
          const names = Object.keys(read);
          if (names.length > 0) {
            const name = names[pick % names.length]!;
            if (drop) delete read[name];
            else if (headerMutation) read[name] = mutate(read[name] as Buffer, headerMutation) ?? Buffer.alloc(0);
          }
          const r = await typedOnly(() => decodeRequestMessage(value, read, msgpack));
          if (r.ok) neverRepaired(value, r.value.encoding);
          const reply = await typedOnly(() => parseReply(value, read));
          if (reply.ok) await typedOnly(() => replyContent(reply.value, enc.codec));
        }
      },
    ),
    { numRuns: RUNS.mutations },
  );
});

test('interop headers: a reply partition is a partition number or a typed error; a correlation id is named in text or in a hex that gives its bytes back', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(headerBytes, fc.string({ unit: 'binary', maxLength: 12 }), fc.integer({ min: 0, max: 0x7fffffff }).map(String)),
      headerBytes,
      async (partition, id) => {
        const r = await typedOnly(() => replyPartitionOf(partition));
        if (r.ok) expect(Number.isInteger(r.value) && r.value! >= 0 && r.value! <= 0x7fffffff).toBe(true);
        const named = correlationIdText(id);
        expect(named === id.toString('latin1') ? id.every((b) => b >= 0x20 && b <= 0x7e) : Buffer.from(named, 'hex').equals(id)).toBe(true);
      },
    ),
    { numRuns: RUNS.interop },
  );
});

test('headers copied (dead letters) and travelling are byte-exact, every value of a repeated name included (a null value, which kafkajs cannot write, as empty)', () => {
  const written = (v: Buffer | null) => v ?? Buffer.alloc(0);
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.oneof(userHeaderName, fc.constantFrom('__proto__', 'kafka_replyTopic', 'kafka-fusion.deadline')),
        fc.oneof(fc.option(headerBytes, { nil: null }), fc.array(fc.option(headerBytes, { nil: null }), { minLength: 1, maxLength: 3 })),
      ),
      (headers) => {
        const out = asRead(writableHeaders(headers)) as Record<string, Buffer | Buffer[]>;
        expect(Object.keys(out)).toEqual(Object.keys(headers));
        // Travelling: the same copies, less the protocol's names (and __x__ type hints, __proto__ among them).
        expect(Object.keys(travellingHeaders(headers))).toEqual(Object.keys(headers).filter(isTravellingHeader));
        for (const [k, v] of Object.entries(headers)) {
          const got = out[k]!;
          expect(
            Array.isArray(v)
              ? Array.isArray(got) && got.length === v.length && got.every((g, i) => g.equals(written(v[i]!)))
              : (got as Buffer).equals(written(v)),
          ).toBe(true);
        }
      },
    ),
    { numRuns: RUNS.travelling },
  );
});
