import { decodeReply, decodeRequest, encodeError, encodeRequest, encodeResult, FIELDS } from '../../src/protocol/envelope';
import { ProtocolError } from '../../src/errors';
import { ReplyMatcher } from '../../src/protocol/replies';
import { isValidTopicName, newEphemeralTopic, EPHEMERAL_TOPIC_PREFIX } from '../../src/naming';

describe('wire envelope', () => {
  test('field names are the documented ones (fusion-clj wrote :return-topic and read :response-topic)', () => {
    expect(FIELDS).toEqual({
      data: 'data',
      returnTopic: 'returnTopic',
      correlationId: 'correlationId',
      deadline: 'deadline',
      result: 'result',
      error: 'error',
    });
    expect(JSON.parse(encodeRequest({ data: [1], returnTopic: 'r', correlationId: 'c' }))).toEqual({ data: [1], returnTopic: 'r', correlationId: 'c' });
    expect(JSON.parse(encodeRequest({ data: 5 }))).toEqual({ data: 5 });
    expect(JSON.parse(encodeResult('c', { x: 1 }))).toEqual({ correlationId: 'c', result: { x: 1 } });
    expect(JSON.parse(encodeResult('c', undefined))).toEqual({ correlationId: 'c', result: null });
    expect(JSON.parse(encodeError('c', { name: 'E', message: 'm' }))).toEqual({ correlationId: 'c', error: { name: 'E', message: 'm' } });
  });

  test('round trips', () => {
    expect(decodeRequest(Buffer.from(encodeRequest({ data: { a: [1, null] }, returnTopic: 'rt', correlationId: 'id' })))).toEqual({
      data: { a: [1, null] },
      returnTopic: 'rt',
      correlationId: 'id',
    });
    expect(decodeReply(encodeResult('id', 0))).toEqual({ correlationId: 'id', result: 0 });
    expect(decodeReply(encodeError('id', { name: 'X', message: 'y' }))).toEqual({ correlationId: 'id', error: { name: 'X', message: 'y' } });
    expect(decodeRequest('{"data":null,"extra":1}')).toEqual({ data: null });
    expect(decodeRequest(encodeRequest({ data: 1, returnTopic: 'rt', correlationId: 'id', deadline: 1764100000000 }))).toEqual({
      data: 1,
      returnTopic: 'rt',
      correlationId: 'id',
      deadline: 1764100000000,
    });
    expect(decodeRequest('{"data":1,"deadline":null}')).toEqual({ data: 1 });
    expect(decodeRequest('{"data":1,"deadline":1764100000000.75}')).toEqual({ data: 1, deadline: 1764100000000 }); // Python's time.time() * 1000
  });

  test.each<[string, string | null, string]>([
    ['no value', null, 'request has no value'],
    ['not JSON', '{oops', 'request is not JSON'],
    ['an array', '[1]', 'request must be a JSON object, got an array'],
    ['a number', '3', 'request must be a JSON object, got a number'],
    ['JSON null', 'null', 'request must be a JSON object, got null'],
    ['no data field', '{"returnTopic":"x"}', 'request has no "data" field'],
    ['a non-string returnTopic', '{"data":1,"returnTopic":5}', 'request: "returnTopic" must be a non-empty string'],
    ['an empty correlationId', '{"data":1,"correlationId":""}', 'request: "correlationId" must be a non-empty string'],
    ['a deadline that is a string', '{"data":1,"deadline":"soon"}', 'request: "deadline" must be a positive number (epoch milliseconds), got "soon"'],
    ['a negative deadline', '{"data":1,"deadline":-1}', 'request: "deadline" must be a positive number'],
    ['a deadline past safe integers', '{"data":1,"deadline":1e300}', 'request: "deadline" must be a positive number'],
  ])('a request with %s is a ProtocolError', (_what, input, message) => {
    expect(() => decodeRequest(input)).toThrow(ProtocolError);
    expect(() => decodeRequest(input)).toThrow(message);
  });

  test.each<[string, string, string]>([
    ['no correlationId', '{"result":1}', 'reply has no "correlationId"'],
    ['neither result nor error', '{"correlationId":"c"}', 'reply has neither "result" nor "error"'],
    ['an error that is not an object', '{"correlationId":"c","error":"x"}', 'reply: "error" must be an object'],
  ])('a reply with %s is a ProtocolError', (_what, input, message) => {
    expect(() => decodeReply(input)).toThrow(new ProtocolError(message));
  });

  test('an error reply from another client with missing fields is still readable', () => {
    expect(decodeReply('{"correlationId":"c","error":{"code":7}}')).toEqual({ correlationId: 'c', error: { name: 'Error', message: '{"code":7}' } });
  });
});

describe('topic names', () => {
  test('ephemeral names are valid, prefixed and sort by creation time', () => {
    const names = Array.from({ length: 50 }, () => newEphemeralTopic());
    for (const n of names) {
      expect(isValidTopicName(n)).toBe(true);
      expect(n.startsWith(EPHEMERAL_TOPIC_PREFIX)).toBe(true);
    }
    expect([...names].sort()).toEqual(names);
    expect(new Set(names).size).toBe(50);
  });

  test.each([
    ['', false],
    ['.', false],
    ['..', false],
    ['a b', false],
    ['a/b', false],
    ['x'.repeat(250), false],
    ['ok.topic_name-1', true],
    [5, false],
  ])('isValidTopicName(%p) is %p', (name, ok) => {
    expect(isValidTopicName(name)).toBe(ok);
  });
});

describe('ReplyMatcher', () => {
  test('each call is settled once, by the first reply naming it; duplicates and strays are counted, never delivered', () => {
    const m = new ReplyMatcher();
    const got: unknown[] = [];
    m.expect('a', (r) => got.push(['a', r]));
    m.expect('b', (r) => got.push(['b', r]));
    expect(m.pending).toBe(2);

    expect(m.deliver(encodeResult('a', 1))).toBe('matched');
    expect(m.deliver(encodeResult('a', 2))).toBe('duplicate');
    expect(m.deliver(encodeError('a', { name: 'E', message: 'late error' }))).toBe('duplicate');
    expect(m.deliver(encodeResult('zzz', 3))).toBe('ignored');
    expect(m.deliver(Buffer.from(encodeError('b', { name: 'E', message: 'm' })))).toBe('matched');

    expect(got).toEqual([
      ['a', { correlationId: 'a', result: 1 }],
      ['b', { correlationId: 'b', error: { name: 'E', message: 'm' } }],
    ]);
    expect([m.duplicates, m.ignored, m.pending]).toEqual([2, 1, 0]);
  });

  test('a call that gave up is forgotten: its late reply is ignored, not delivered', () => {
    const m = new ReplyMatcher();
    let delivered = 0;
    m.expect('slow', () => delivered++);
    m.forget('slow');
    expect(m.deliver(encodeResult('slow', 1))).toBe('ignored');
    expect([delivered, m.ignored, m.duplicates]).toEqual([0, 1, 0]);
  });

  test('memory of settled ids is bounded: the oldest are forgotten first', () => {
    const m = new ReplyMatcher(2);
    for (const id of ['1', '2', '3']) {
      m.expect(id, () => undefined);
      m.deliver(encodeResult(id, 0));
    }
    expect(m.deliver(encodeResult('1', 0))).toBe('ignored'); // forgotten
    expect(m.deliver(encodeResult('3', 0))).toBe('duplicate');
  });

  test('bytes that are not a reply are a ProtocolError, and settle nothing', () => {
    const m = new ReplyMatcher();
    let delivered = 0;
    m.expect('a', () => delivered++);
    expect(() => m.deliver('{oops')).toThrow(ProtocolError);
    expect([delivered, m.pending]).toEqual([0, 1]);
  });
});
