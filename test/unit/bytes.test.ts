/**
 * Bytes are bytes: keys and header values are kept as they came, text is
 * read from them strictly (never "repaired" into U+FFFD), and what travels
 * is a byte-exact copy.
 */
import { ProtocolError } from '../../src/errors';
import { firstInvalidByte, headerValue, utf8, utf8OrRefuse, writableHeaders } from '../../src/protocol/bytes';
import { JSON_CODEC } from '../../src/protocol/codec';
import { decodeRequest } from '../../src/protocol/envelope';
import { travellingHeaders } from '../../src/protocol/headers';
import { headersView, headerText, keyText } from '../../src/reactor/message';

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

describe('strict UTF-8', () => {
  test.each<[string, string, number]>([
    ["the issue's binary key", 'ff fe 80 6b c3 28', 0],
    ['a lone continuation byte', '61 80', 1],
    ['a truncated 2-byte character', '61 62 c3', 2],
    ['an overlong slash', '2f c0 af', 1],
    ['a UTF-16 surrogate encoded in UTF-8', '61 ed a0 80', 1],
    ['above U+10FFFF', 'f4 90 80 80', 0],
    ['a truncated 4-byte character', 'f0 9f 98', 0],
    ["the issue's data bytes", '22 ff fe c3 28 ed a0 80 22', 1],
  ])('%s is refused, naming the offset of its first invalid byte', (_what, bytes, offset) => {
    const b = hex(bytes);
    expect(utf8(b)).toBeUndefined();
    expect(firstInvalidByte(b)).toBe(offset);
    expect(() => utf8OrRefuse(b, 'the key')).toThrow(
      new ProtocolError(`the key is not valid UTF-8 (first invalid byte at offset ${offset} of ${b.length}); it was not altered, it was refused`),
    );
  });

  test.each<[string, string]>([
    ['ASCII', 'hello'],
    ['2, 3 and 4-byte characters', 'é€😀'],
    ['a BOM, kept as a character', '\uFEFF{}'],
    ['nothing', ''],
  ])('%s is read as it is', (_what, text) => {
    const b = Buffer.from(text, 'utf8');
    expect(utf8(b)).toBe(text);
    expect(firstInvalidByte(b)).toBe(b.length);
  });

  test('firstInvalidByte agrees with a fatal TextDecoder on every 1 and 2-byte input and on 3-byte ones from each lead byte', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const valid = (b: Buffer) => {
      try {
        fatal.decode(b);
        return true;
      } catch {
        return false;
      }
    };
    let checked = 0;
    const disagreements: string[] = [];
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        for (const buf of [Buffer.from([a]), Buffer.from([a, b]), Buffer.from([a, b, 0x80]), Buffer.from([a, b, 0x80, 0x80])]) {
          const ok = valid(buf);
          if ((firstInvalidByte(buf) === buf.length) !== ok || (utf8(buf) !== undefined) !== ok) disagreements.push(buf.toString('hex'));
          checked++;
        }
      }
    }
    expect(disagreements).toEqual([]);
    expect(checked).toBe(4 * 65536);
  });

  test('the JSON codec and the envelope refuse what is not UTF-8; JSON null is named as null', () => {
    const data = hex('7b 22 64 61 74 61 22 3a 22 ff fe c3 28 ed a0 80 22 7d'); // {"data":"<the bytes>"}
    expect(() => JSON_CODEC.decode(data)).toThrow('the value is not valid UTF-8 (first invalid byte at offset 9 of 18)');
    expect(() => decodeRequest(data)).toThrow(
      new ProtocolError('request is not valid UTF-8 (first invalid byte at offset 9 of 18); it was not altered, it was refused'),
    );
    expect(() => decodeRequest(Buffer.from('null'))).toThrow(new ProtocolError('request must be a JSON object, got null'));
    expect(() => decodeRequest(Buffer.from('"x"'))).toThrow(new ProtocolError('request must be a JSON object, got a string'));
  });
});

describe('headers as they came', () => {
  const binary = hex('00 ff 10 80');
  // kafkajs gives a repeated name as an array, a header with no value as null.
  const raw = {
    tenant: Buffer.from('acme'),
    bin: binary,
    repeated: [Buffer.from('one'), hex('ff')],
    empty: null,
    kafka_replyTopic: Buffer.from('t'),
    'kafka-fusion.deadline': Buffer.from('1'),
  };

  test('travelling headers are byte-exact copies (every value of a repeated name, in order); protocol headers stay behind', () => {
    const out = travellingHeaders(raw);
    expect(Object.keys(out)).toEqual(['tenant', 'bin', 'repeated', 'empty']);
    expect(out.bin).toBe(binary);
    expect(out.repeated).toEqual([Buffer.from('one'), hex('ff')]);
    // kafkajs cannot write a null header value: the one change it forces.
    expect(out.empty).toEqual(Buffer.alloc(0));
    expect(writableHeaders(raw)).toMatchObject({ kafka_replyTopic: Buffer.from('t') });
  });

  test("a message's headers: bytes, a repeated name's last value (Java's lastHeader), null as empty", () => {
    const view = headersView(raw);
    expect(view.bin).toBe(binary);
    expect(view.repeated).toEqual(hex('ff'));
    expect(view.empty).toEqual(Buffer.alloc(0));
    expect(headerValue(raw, 'repeated')).toEqual(hex('ff'));
    expect(headerValue(raw, 'empty')).toBeUndefined();
  });

  test('keyText and headerText read text strictly, and say what to read instead', () => {
    const m = { key: hex('ff fe 80 6b c3 28'), headers: headersView(raw) };
    expect(headerText(m, 'tenant')).toBe('acme');
    expect(headerText(m, 'missing')).toBeUndefined();
    expect(() => headerText(m, 'bin')).toThrow(
      new ProtocolError('header bin is not valid UTF-8 (first invalid byte at offset 1 of 4); it was not altered, it was refused'),
    );
    expect(() => keyText(m)).toThrow(ProtocolError);
    expect(keyText({ key: Buffer.from('order-7') })).toBe('order-7');
    expect(keyText({ key: null })).toBeNull();
  });
});
