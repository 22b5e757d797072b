import { decodeReply, decodeRequest, encodeError, encodeRequest, encodeResult, FIELDS } from '../../src/protocol/envelope';
import { ProtocolError } from '../../src/errors';
import { isValidTopicName, newEphemeralTopic, EPHEMERAL_TOPIC_PREFIX } from '../../src/kafka/naming';

describe('wire envelope', () => {
  test('field names are the documented ones (fusion-clj wrote :return-topic and read :response-topic)', () => {
    expect(FIELDS).toEqual({ data: 'data', returnTopic: 'returnTopic', correlationId: 'correlationId', result: 'result', error: 'error' });
    expect(JSON.parse(encodeRequest({ data: [1], returnTopic: 'r', correlationId: 'c' }))).toEqual({ data: [1], returnTopic: 'r', correlationId: 'c' });
    expect(JSON.parse(encodeRequest({ data: 5 }))).toEqual({ data: 5 });
    expect(JSON.parse(encodeResult('c', { x: 1 }))).toEqual({ correlationId: 'c', result: { x: 1 } });
    expect(JSON.parse(encodeResult('c', undefined))).toEqual({ correlationId: 'c', result: null });
    expect(JSON.parse(encodeError('c', { name: 'E', message: 'm' }))).toEqual({ correlationId: 'c', error: { name: 'E', message: 'm' } });
  });

  test('round trips', () => {
    expect(decodeRequest(Buffer.from(encodeRequest({ data: { a: [1, null] }, returnTopic: 'rt', correlationId: 'id' })))).toEqual({ data: { a: [1, null] }, returnTopic: 'rt', correlationId: 'id' });
    expect(decodeReply(encodeResult('id', 0))).toEqual({ correlationId: 'id', result: 0 });
    expect(decodeReply(encodeError('id', { name: 'X', message: 'y' }))).toEqual({ correlationId: 'id', error: { name: 'X', message: 'y' } });
    expect(decodeRequest('{"data":null,"extra":1}')).toEqual({ data: null });
  });

  test.each<[string, string | null, string]>([
    ['no value', null, 'request has no value'],
    ['not JSON', '{oops', 'request is not JSON'],
    ['an array', '[1]', 'request must be a JSON object, got an array'],
    ['a number', '3', 'request must be a JSON object, got number'],
    ['JSON null', 'null', 'request must be a JSON object, got object'],
    ['no data field', '{"returnTopic":"x"}', 'request has no "data" field'],
    ['a non-string returnTopic', '{"data":1,"returnTopic":5}', 'request: "returnTopic" must be a non-empty string'],
    ['an empty correlationId', '{"data":1,"correlationId":""}', 'request: "correlationId" must be a non-empty string'],
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

  test.each([['', false], ['.', false], ['..', false], ['a b', false], ['a/b', false], ['x'.repeat(250), false], ['ok.topic_name-1', true], [5, false]])('isValidTopicName(%p) is %p', (name, ok) => {
    expect(isValidTopicName(name)).toBe(ok);
  });
});
