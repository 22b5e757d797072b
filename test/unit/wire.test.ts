/**
 * Whole messages: the two wire formats, codecs, and replies from NestJS and
 * Spring services (a bare body, the correlation id in a header).
 */
import { decode, encode } from '@msgpack/msgpack';
import { ConfigError, ProtocolError } from '../../src/errors';
import { JSON_CODEC, type Codec } from '../../src/protocol/codec';
import { INTEROP_HEADERS, travellingHeaders, WIRE_HEADERS } from '../../src/protocol/headers';
import { ReplyMatcher } from '../../src/protocol/replies';
import {
  BARE_JSON,
  correlationIdText,
  DEFAULT_ENCODING,
  decodeRequestMessage,
  replyPartitionOf,
  encodeReplyMessage,
  encodeRequestMessage,
  parseReply,
  replyContent,
  resolveEncoding,
  type Encoding,
} from '../../src/protocol/wire';

const msgpack: Codec = { contentType: 'application/msgpack', encode: (v) => encode(v), decode: (b) => decode(b) };
const MSGPACK: Encoding = { codec: msgpack, wire: 'headers' };

describe('resolveEncoding', () => {
  test.each<[string, unknown, unknown, Encoding, Encoding]>([
    ['nothing given: the fallback', undefined, undefined, DEFAULT_ENCODING, DEFAULT_ENCODING],
    ['a codec alone brings the headers format', msgpack, undefined, DEFAULT_ENCODING, MSGPACK],
    ['the JSON codec alone brings the envelope', JSON_CODEC, undefined, MSGPACK, DEFAULT_ENCODING],
    ["wire 'headers' alone keeps the fallback's codec", undefined, 'headers', MSGPACK, MSGPACK],
    ["wire 'headers' alone over JSON: bare JSON (what NestJS reads)", undefined, 'headers', DEFAULT_ENCODING, BARE_JSON],
    ["wire 'envelope' alone means JSON", undefined, 'envelope', MSGPACK, DEFAULT_ENCODING],
  ])('%s', (_what, codec, wire, fallback, expected) => {
    expect(resolveEncoding('x', codec, wire, fallback)).toEqual(expected);
  });

  test.each<[string, unknown, unknown, string]>([
    [
      'the envelope with another codec',
      msgpack,
      'envelope',
      "opts.wire: 'envelope' carries data as JSON inside the JSON envelope; codec application/msgpack needs wire 'headers'",
    ],
    ['an unknown wire format', undefined, 'xml', `opts.wire: must be 'envelope' or 'headers', got "xml"`],
    ['a codec that is not an object', 'json', undefined, 'opts.codec: must be an object with contentType, encode and decode, got string'],
    [
      'a codec without a media type',
      { contentType: 'msgpack', encode: () => '', decode: () => 1 },
      undefined,
      'opts.codec: contentType must be a media type such as "application/msgpack", got "msgpack"',
    ],
    ['a codec without decode', { contentType: 'a/b', encode: () => '' }, undefined, 'opts.codec: encode and decode must be functions'],
  ])('%s is a ConfigError naming the option', (_what, codec, wire, message) => {
    expect(() => resolveEncoding('opts', codec, wire)).toThrow(ConfigError);
    expect(() => resolveEncoding('opts', codec, wire)).toThrow(message);
  });

  test('an empty path names the bare option', () => {
    expect(() => resolveEncoding('', undefined, 'x')).toThrow(`wire: must be 'envelope' or 'headers', got "x"`);
  });
});

describe('requests', () => {
  const request = { data: [1, 'two', { three: 3 }], returnTopic: 'kafka-fusion.reply.r', correlationId: 'c-1', deadline: 1764100000000 };

  test('the envelope format: the JSON envelope, with Spring/NestJS headers alongside, written over the caller’s', async () => {
    const m = await encodeRequestMessage(request, DEFAULT_ENCODING, { tenant: 't', [INTEROP_HEADERS.correlationId]: 'forged' });
    expect(JSON.parse(m.value as string)).toEqual(request);
    expect(m.headers).toEqual({ tenant: 't', kafka_correlationId: 'c-1', kafka_replyTopic: 'kafka-fusion.reply.r' });
    expect(await decodeRequestMessage(Buffer.from(m.value as string), m.headers, msgpack)).toEqual({ ...request, encoding: DEFAULT_ENCODING });
  });

  test("protocol headers given by the caller (a request's, passed on) are dropped, never sent as if they were this message's", async () => {
    const stale = {
      tenant: 't',
      kafka_replyTopic: 'kafka-fusion.reply.upstream',
      kafka_correlationId: 'upstream',
      'kafka-fusion.content-type': 'application/msgpack',
      'kafka-fusion.deadline': '1',
      __TypeId__: 'com.acme.Order',
    };
    expect((await encodeRequestMessage({ data: 1 }, DEFAULT_ENCODING, stale)).headers).toEqual({ tenant: 't', __TypeId__: 'com.acme.Order' });
    expect((await encodeReplyMessage('mine', { result: 1 }, DEFAULT_ENCODING, stale)).headers).toEqual({ tenant: 't', __TypeId__: 'com.acme.Order' });
    expect((await encodeReplyMessage('mine', { result: 1 }, BARE_JSON, stale)).headers).toEqual({
      tenant: 't',
      __TypeId__: 'com.acme.Order',
      kafka_correlationId: 'mine',
      'kafka_nest-is-disposed': '1',
      'kafka-fusion.content-type': 'application/json',
    });
  });

  test("interopHeaders false leaves Spring's headers off envelope requests (the headers format needs them and keeps them)", async () => {
    const quiet: Encoding = { codec: JSON_CODEC, wire: 'envelope', interopHeaders: false };
    expect((await encodeRequestMessage(request, quiet, { tenant: 't' })).headers).toEqual({ tenant: 't' });
    // A node that asks for the headers format keeps them, and the choice carries over.
    const bare = resolveEncoding('', undefined, 'headers', quiet);
    expect(bare).toEqual({ codec: JSON_CODEC, wire: 'headers', interopHeaders: false });
    expect((await encodeRequestMessage(request, bare)).headers).toMatchObject({ kafka_correlationId: 'c-1', kafka_replyTopic: 'kafka-fusion.reply.r' });
    expect(resolveEncoding('', undefined, undefined, quiet)).toBe(quiet);
  });

  test('fire and forget carries no reply headers', async () => {
    const m = await encodeRequestMessage({ data: 1 }, DEFAULT_ENCODING);
    expect(m).toEqual({ value: '{"data":1}', headers: {} });
    expect((await encodeRequestMessage({ data: 1 }, MSGPACK)).headers).toEqual({ 'kafka-fusion.content-type': 'application/msgpack' });
  });

  test('the headers format: the payload bare, in the codec; the fields in headers', async () => {
    const m = await encodeRequestMessage(request, MSGPACK, { tenant: 't' });
    expect(decode(m.value as Buffer)).toEqual(request.data);
    expect(m.headers).toEqual({
      tenant: 't',
      kafka_correlationId: 'c-1',
      kafka_replyTopic: 'kafka-fusion.reply.r',
      'kafka-fusion.content-type': 'application/msgpack',
      'kafka-fusion.deadline': '1764100000000',
    });
    expect(await decodeRequestMessage(m.value as Buffer, m.headers, msgpack)).toEqual({ ...request, encoding: MSGPACK });
  });

  test('bare JSON (what a NestJS handler reads as its payload) is read by any receiver', async () => {
    const m = await encodeRequestMessage(request, BARE_JSON);
    expect(m.value).toBe(JSON.stringify(request.data));
    expect(await decodeRequestMessage(Buffer.from(m.value as string), m.headers, msgpack)).toEqual({ ...request, encoding: BARE_JSON });
  });

  test('a payload its codec cannot encode is a ProtocolError', async () => {
    const broken: Codec = {
      contentType: 'a/b',
      encode: () => {
        throw new Error('cannot');
      },
      decode: () => null,
    };
    await expect(encodeRequestMessage({ data: 1 }, { codec: broken, wire: 'headers' })).rejects.toThrow(
      new ProtocolError('codec a/b could not encode the payload: cannot'),
    );
    const wrong = { contentType: 'a/b', encode: () => 5, decode: () => null } as unknown as Codec;
    await expect(encodeRequestMessage({ data: 1 }, { codec: wrong, wire: 'headers' })).rejects.toThrow(
      'codec a/b: encode must return a Buffer, a Uint8Array or a string, got number',
    );
  });

  test.each<[string, Buffer | null, Record<string, string>, string]>([
    [
      'a content type the receiver does not decode',
      Buffer.from('x'),
      { [WIRE_HEADERS.contentType]: 'application/avro' },
      'request is "application/avro", which this service does not decode (its codec is application/msgpack)',
    ],
    [
      'bytes its codec cannot read',
      Buffer.from([0xc1]),
      { [WIRE_HEADERS.contentType]: 'application/msgpack' },
      'request: its application/msgpack value could not be decoded',
    ],
    ['JSON that is not JSON', Buffer.from('{'), { [WIRE_HEADERS.contentType]: 'application/json' }, 'request: its application/json value could not be decoded'],
    [
      'a deadline that is not a number',
      Buffer.from('1'),
      { [WIRE_HEADERS.contentType]: 'application/json', [WIRE_HEADERS.deadline]: 'soon' },
      'request: header kafka-fusion.deadline must be a positive number (epoch milliseconds), got "soon"',
    ],
    [
      'an empty reply topic',
      Buffer.from('1'),
      { [WIRE_HEADERS.contentType]: 'application/json', [INTEROP_HEADERS.replyTopic]: '' },
      'request: header kafka_replyTopic is empty',
    ],
  ])('a headers-format request with %s is a ProtocolError', async (_what, value, headers, message) => {
    const decoding = decodeRequestMessage(value, headers, msgpack);
    await expect(decoding).rejects.toThrow(ProtocolError);
    await expect(decodeRequestMessage(value, headers, msgpack)).rejects.toThrow(message);
  });

  test('a headers-format request with no value has null data; a fractional deadline is rounded down', async () => {
    expect(
      await decodeRequestMessage(null, { [WIRE_HEADERS.contentType]: 'application/json', [WIRE_HEADERS.deadline]: '1764100000000.5' }, JSON_CODEC),
    ).toEqual({ data: null, deadline: 1764100000000, encoding: BARE_JSON });
  });

  describe('from a NestJS ClientKafka or Spring ReplyingKafkaTemplate caller (a bare body, the route in headers)', () => {
    const route = { [INTEROP_HEADERS.correlationId]: 'c-1', [INTEROP_HEADERS.replyTopic]: 'math.sum.reply' };
    test('NestJS: bare JSON, its reply partition as decimal text; answered in bare JSON', async () => {
      const headers = { ...route, [INTEROP_HEADERS.replyPartition]: '3' };
      expect(await decodeRequestMessage(Buffer.from('[1,2]'), headers, msgpack)).toEqual({
        data: [1, 2],
        encoding: BARE_JSON,
        returnTopic: 'math.sum.reply',
        correlationId: 'c-1',
        correlationIdBytes: Buffer.from('c-1'),
        replyPartition: 3,
      });
    });
    test('Spring: a binary correlation id (named in hex, its bytes kept to be echoed) and a 4-byte partition', async () => {
      const id = Buffer.from('00ff10203040506070808090a0b0c0d0', 'hex');
      const headers = { ...route, [INTEROP_HEADERS.correlationId]: id, [INTEROP_HEADERS.replyPartition]: Buffer.from([0, 0, 0, 2]) };
      const request = await decodeRequestMessage(Buffer.from('"text, not JSON"'), headers, JSON_CODEC);
      expect(request).toMatchObject({ data: 'text, not JSON', correlationId: id.toString('hex'), replyPartition: 2, encoding: BARE_JSON });
      expect(request.correlationIdBytes!.equals(id)).toBe(true);
    });
    test('a body that is not JSON is its text; no body is null; a JSON object is data, even one with a data field', async () => {
      expect((await decodeRequestMessage(Buffer.from('hello'), route, JSON_CODEC)).data).toBe('hello');
      expect((await decodeRequestMessage(null, route, JSON_CODEC)).data).toBeNull();
      expect((await decodeRequestMessage(Buffer.from('{"data":5}'), route, JSON_CODEC)).data).toEqual({ data: 5 });
    });
    test('our own envelope request, which carries the same headers, is still ours', async () => {
      const ours = await encodeRequestMessage({ data: 7, returnTopic: 'kafka-fusion.reply.x', correlationId: 'c-9' }, DEFAULT_ENCODING);
      const request = await decodeRequestMessage(Buffer.from(ours.value as string), ours.headers, JSON_CODEC);
      expect(request).toEqual({ data: 7, returnTopic: 'kafka-fusion.reply.x', correlationId: 'c-9', encoding: DEFAULT_ENCODING });
    });
    test('an envelope of ours that is corrupt, or wrong, is refused as ours, not read as a bare body', async () => {
      await expect(decodeRequestMessage(Buffer.from('{"data": 1,'), route, JSON_CODEC)).rejects.toThrow(/^request is not JSON/);
      await expect(decodeRequestMessage(Buffer.from(' \n{"data": 1,'), route, JSON_CODEC)).rejects.toThrow(/^request is not JSON/);
      await expect(decodeRequestMessage(Buffer.from('\uFEFF{"data": 1,'), route, JSON_CODEC)).rejects.toThrow(/^request is not JSON/);
      await expect(decodeRequestMessage(Buffer.from('{"data": 1, "correlationId": "c-1", "deadline": "soon"}'), route, JSON_CODEC)).rejects.toThrow(
        'request: "deadline" must be a positive number',
      );
      await expect(decodeRequestMessage(Buffer.from('{"data": 1, "correlationId": 7}'), route, JSON_CODEC)).rejects.toThrow(
        'request: "correlationId" must be a non-empty string',
      );
    });
    test('a JSON object naming another correlation id is a foreign body (a business payload may have such a field)', async () => {
      expect(await decodeRequestMessage(Buffer.from('{"correlationId": "order-9", "n": 1}'), route, JSON_CODEC)).toMatchObject({
        data: { correlationId: 'order-9', n: 1 },
        correlationId: 'c-1',
        encoding: BARE_JSON,
      });
    });
    test.each<[string, Buffer | string, number]>([
      ['NestJS decimal text', Buffer.from('12'), 12],
      ['four ASCII digits, as text', Buffer.from('1234'), 1234],
      ['a Spring 4-byte int', Buffer.from([0, 0, 1, 2]), 258],
      ['text (a header given as a string)', '0', 0],
    ])('reply partition: %s', (_what, value, expected) => {
      expect(replyPartitionOf(value)).toBe(expected);
    });
    test.each<[string, Buffer]>([
      ['empty', Buffer.from('')],
      ['hex', Buffer.from('0x10')],
      ['spaced', Buffer.from(' 3')],
      ['exponent', Buffer.from('1e1')],
      ['negative int', Buffer.from([0xff, 0xff, 0xff, 0xff])],
      ['too many digits', Buffer.from('99999999999')],
    ])('reply partition %s is a ProtocolError', (_what, bytes) => {
      expect(() => replyPartitionOf(bytes)).toThrow(new ProtocolError('request: header kafka_replyPartition is not a partition number'));
    });
    test('a correlation id is named as text when printable ASCII, else in hex (even when its bytes happen to be UTF-8)', () => {
      expect(correlationIdText(Buffer.from('c-1'))).toBe('c-1');
      expect(correlationIdText(Buffer.from('é', 'utf8'))).toBe('c3a9');
      expect(correlationIdText(Buffer.from([0x00, 0x41]))).toBe('0041');
    });
    test.each<[string, Record<string, string>, string]>([
      [
        'a reply partition that is not a number',
        { ...route, [INTEROP_HEADERS.replyPartition]: 'x' },
        'request: header kafka_replyPartition is not a partition number',
      ],
      ['an empty correlation id', { ...route, [INTEROP_HEADERS.correlationId]: '' }, 'request: header kafka_correlationId is empty'],
    ])('%s is a ProtocolError', async (_what, headers, message) => {
      await expect(decodeRequestMessage(Buffer.from('1'), headers, JSON_CODEC)).rejects.toThrow(new ProtocolError(message));
    });
  });

  test('protocol headers and Spring type hints never travel on; user headers and trace context do', () => {
    expect(
      travellingHeaders({
        tenant: 't',
        traceparent: 'tp',
        kafka_correlationId: 'c',
        kafka_replyTopic: 'r',
        'kafka-fusion.deadline': '1',
        __TypeId__: 'com.acme.Order',
      }),
    ).toEqual({ tenant: 't', traceparent: 'tp' });
  });
});

describe('replies', () => {
  const id = 'c-9';

  async function roundTrip(outcome: { result: unknown } | { error: { name: string; message: string } }, encoding: Encoding) {
    const m = await encodeReplyMessage(id, outcome, encoding, { tenant: 't' });
    if (encoding.wire === 'envelope') {
      // The envelope says it all: no protocol header.
      expect(m.headers).toEqual({ tenant: 't' });
    } else {
      // What a NestJS caller reads too: the id, the end of the stream, and an error in kafka_nest-err.
      expect(m.headers).toMatchObject({ tenant: 't', kafka_correlationId: id, 'kafka_nest-is-disposed': '1' });
      expect(m.headers['kafka_nest-err']).toBe('error' in outcome ? JSON.stringify(outcome.error) : undefined);
    }
    const value = m.value === null ? null : Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value);
    const inbound = parseReply(value, m.headers);
    expect(inbound.correlationId).toBe(id);
    return replyContent(inbound, encoding.codec);
  }

  test.each<[string, Encoding]>([
    ['envelope', DEFAULT_ENCODING],
    ['msgpack', MSGPACK],
    ['bare JSON', BARE_JSON],
  ])('results and errors round-trip in the %s encoding', async (_what, encoding) => {
    await expect(roundTrip({ result: { n: [1, 2] } }, encoding)).resolves.toEqual({ result: { n: [1, 2] } });
    await expect(roundTrip({ result: null }, encoding)).resolves.toEqual({ result: null });
    await expect(roundTrip({ error: { name: 'RangeError', message: 'no' } }, encoding)).resolves.toEqual({ error: { name: 'RangeError', message: 'no' } });
  });

  const nest = (value: string | null, extra: Record<string, string> = {}) =>
    parseReply(value === null ? null : Buffer.from(value), { kafka_correlationId: id, ...extra });

  test('a NestJS or Spring reply: a bare body, its correlation id in the header', async () => {
    expect(await replyContent(nest('{"sum":6}'), JSON_CODEC)).toEqual({ result: { sum: 6 } });
    expect(await replyContent(nest('[1,2]', { 'kafka_nest-is-disposed': '\u0000' }), JSON_CODEC)).toEqual({ result: [1, 2] });
    expect(await replyContent(nest('hello'), JSON_CODEC)).toEqual({ result: 'hello' }); // Spring's StringSerializer
    expect(await replyContent(nest(null), JSON_CODEC)).toEqual({ result: null });
    // A body that looks like our envelope but names another id is a payload.
    expect(await replyContent(nest('{"correlationId":"other","result":1}'), JSON_CODEC)).toEqual({ result: { correlationId: 'other', result: 1 } });
    // Read with the call's codec when it is not JSON.
    expect(await replyContent(parseReply(Buffer.from(encode({ a: 1 })), { kafka_correlationId: id }), msgpack)).toEqual({ result: { a: 1 } });
  });

  test("NestJS's error header, as JSON or as text; its end-of-stream message alone", async () => {
    expect(nest(null, { 'kafka_nest-err': '{"status":"error","message":"Internal server error"}' })).toEqual({
      correlationId: id,
      error: { name: 'Error', message: 'Internal server error' },
    });
    expect(nest(null, { 'kafka_nest-err': 'no handler' })).toEqual({ correlationId: id, error: { name: 'Error', message: 'no handler' } });
    expect(nest(null, { 'kafka_nest-err': '"quoted"' })).toEqual({ correlationId: id, error: { name: 'Error', message: 'quoted' } });
    expect(nest(null, { 'kafka_nest-is-disposed': '\u0000' })).toEqual({ correlationId: id, completion: true });
    expect(await replyContent(nest(null, { 'kafka_nest-is-disposed': '\u0000' }), JSON_CODEC)).toEqual({ result: null });
  });

  test.each<[string, Buffer | null, Record<string, string>, string]>([
    [
      'a content type and no correlation header',
      Buffer.from('1'),
      { [WIRE_HEADERS.contentType]: 'application/json' },
      'reply: a kafka-fusion.content-type reply has no kafka_correlationId header',
    ],
    ['an empty correlation header', Buffer.from('1'), { kafka_correlationId: '' }, 'reply: header kafka_correlationId is empty'],
    ['no header and no envelope', Buffer.from('[1]'), {}, 'reply must be a JSON object, got an array'],
  ])('a reply with %s is a ProtocolError', (_what, value, headers, message) => {
    expect(() => parseReply(value, headers)).toThrow(new ProtocolError(message));
  });

  test('a payload the call cannot decode is a ProtocolError', async () => {
    const avro = parseReply(Buffer.from('x'), { kafka_correlationId: id, [WIRE_HEADERS.contentType]: 'application/avro' });
    await expect(replyContent(avro, msgpack)).rejects.toThrow(new ProtocolError('reply is "application/avro", but this call decodes application/msgpack'));
    const garbage = parseReply(Buffer.from([0xc1]), { kafka_correlationId: id, [WIRE_HEADERS.contentType]: 'application/msgpack' });
    await expect(replyContent(garbage, msgpack)).rejects.toThrow('reply: its application/msgpack value could not be decoded');
    // A JSON reply is read by a msgpack call (a service that answers in JSON).
    expect(await replyContent(parseReply(Buffer.from('7'), { kafka_correlationId: id, [WIRE_HEADERS.contentType]: 'application/json' }), msgpack)).toEqual({
      result: 7,
    });
  });

  test('a NestJS end-of-stream message after its reply is dropped uncounted; a real second reply is a duplicate', () => {
    const m = new ReplyMatcher();
    const got: unknown[] = [];
    m.expect(id, (r) => got.push(r));
    expect(m.deliver(Buffer.from('6'), { kafka_correlationId: id })).toBe('matched');
    expect(m.deliver(null, { kafka_correlationId: id, 'kafka_nest-is-disposed': '\u0000' })).toBe('end-of-stream');
    expect(m.duplicates).toBe(0);
    expect(m.deliver(Buffer.from('7'), { kafka_correlationId: id })).toBe('duplicate');
    expect(m.duplicates).toBe(1);
    expect(m.deliver(null, { kafka_correlationId: 'never-asked', 'kafka_nest-is-disposed': '\u0000' })).toBe('ignored');
    expect(got).toHaveLength(1);
  });
});
