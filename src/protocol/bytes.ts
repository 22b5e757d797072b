/**
 * Bytes from the wire stay bytes. A message's key and header values are any
 * bytes (Kafka says nothing of their encoding): they are kept as they came,
 * and copied as they came (reply keys, dead letters, headers that travel).
 * Text is read from them only where the protocol needs text, strictly: bytes
 * that are not valid UTF-8 are refused, never "repaired" into U+FFFD.
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../errors';

/** A header value to write: text (written as UTF-8) or bytes, written as they are. */
export type HeaderValue = string | Buffer;

/** Headers to write: a name given several values is written once per value, in order. */
export type OutboundHeaders = Record<string, HeaderValue | HeaderValue[]>;

/**
 * Headers as read from Kafka (kafkajs gives them so): each value as bytes,
 * a name that came several times as the array of its values in order, and
 * null for a header sent with no value. Decoders also take text values.
 */
export type MessageHeaders = Readonly<Record<string, HeaderValue | (HeaderValue | null)[] | null | undefined>>;

/** True when `text` has a UTF-8 form: no lone UTF-16 surrogate (one would be written as U+FFFD). */
export function hasUtf8Form(text: string): boolean {
  return !/\p{Cs}/u.test(text);
}

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8 (a BOM is kept, as a character). */
export function utf8(bytes: Buffer): string | undefined {
  return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
}

/** Offset of the first byte of `bytes` that does not start or continue a well-formed UTF-8 character (RFC 3629). */
export function firstInvalidByte(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    // Sequence length, and the range of its second byte (which excludes overlongs, surrogates and > U+10FFFF).
    const [n, lo, hi] =
      b < 0x80
        ? [1, 0, 0]
        : b >= 0xc2 && b <= 0xdf
          ? [2, 0x80, 0xbf]
          : b === 0xe0
            ? [3, 0xa0, 0xbf]
            : b === 0xed
              ? [3, 0x80, 0x9f]
              : b >= 0xe1 && b <= 0xef
                ? [3, 0x80, 0xbf]
                : b === 0xf0
                  ? [4, 0x90, 0xbf]
                  : b >= 0xf1 && b <= 0xf3
                    ? [4, 0x80, 0xbf]
                    : b === 0xf4
                      ? [4, 0x80, 0x8f]
                      : [0, 0, 0];
    if (n === 0) return i;
    for (let k = 1; k < n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf)) return i;
    }
    i += n;
  }
  return bytes.length;
}

/**
 * The bytes as UTF-8 text, or a ProtocolError that names `what` and the
 * offset of the first byte that is not UTF-8.
 */
export function utf8OrRefuse(bytes: Buffer, what: string): string {
  const text = utf8(bytes);
  if (text === undefined) {
    throw new ProtocolError(
      `${what} is not valid UTF-8 (first invalid byte at offset ${firstInvalidByte(bytes)} of ${bytes.length}); it was not altered, it was refused`,
    );
  }
  return text;
}

/** A header's value; for a name that came several times, its last (as Java's `lastHeader`); undefined when absent or null. */
export function headerValue(headers: MessageHeaders, name: string): HeaderValue | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const v = headers[name];
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  return last ?? undefined;
}

/** A header value as bytes (text as UTF-8). */
export function toBytes(v: HeaderValue): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** A header's value as text, strictly; undefined when absent. `what` names the message in the ProtocolError. */
export function strictHeaderText(headers: MessageHeaders, name: string, what: string): string | undefined {
  const v = headerValue(headers, name);
  if (v === undefined || typeof v === 'string') return v;
  return utf8OrRefuse(v, `${what}: header ${name}`);
}

/**
 * Headers ready to write again, every value as it came: what kafkajs
 * cannot write (a header with a null value) becomes an empty value, the one
 * change kafkajs forces (docs/protocol.md).
 */
export function writableHeaders(headers: MessageHeaders, keep: (name: string) => boolean = () => true): OutboundHeaders {
  // No prototype: a header named __proto__ is copied like any other.
  const out: OutboundHeaders = Object.create(null) as OutboundHeaders;
  for (const name of Object.keys(headers)) {
    if (!keep(name)) continue;
    const v = headers[name];
    if (v === undefined) continue;
    out[name] = v === null ? Buffer.alloc(0) : Array.isArray(v) ? v.map((x) => (x === null ? Buffer.alloc(0) : x)) : v;
  }
  return out;
}
