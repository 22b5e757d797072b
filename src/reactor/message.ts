/**
 * A main-topic message as depsFn and procFn see it: its key and header
 * values as the bytes that came (Kafka says nothing of their encoding), and
 * a strict text view of them for the common case.
 */
import { ProtocolError } from '../errors';
import { headerValue, toBytes, utf8OrRefuse, type MessageHeaders } from '../protocol/bytes';
import type { ReactorMessage } from './types';

/**
 * The message's headers as depsFn and procFn see them: each value as bytes;
 * for a name sent more than once, its last value (every value travels on);
 * a header sent with no value (null) as empty bytes.
 */
export function headersView(headers: MessageHeaders): Record<string, Buffer> {
  // No prototype: a header named __proto__ is kept like any other.
  const out = Object.create(null) as Record<string, Buffer>;
  for (const name of Object.keys(headers)) {
    if (headers[name] === undefined) continue;
    const v = headerValue(headers, name);
    out[name] = v === undefined ? Buffer.alloc(0) : toBytes(v);
  }
  return out;
}

/**
 * The message's key as UTF-8 text; null when it has none. Throws a
 * ProtocolError when the key's bytes are not UTF-8 (they are never
 * "repaired"): read `message.key` for any bytes.
 */
export function keyText(message: Pick<ReactorMessage, 'key'>): string | null {
  if (message.key === null) return null;
  return utf8OrRefuse(message.key, 'the message key');
}

/**
 * A header's value as UTF-8 text; undefined when the message has no such
 * header. Throws a ProtocolError when its bytes are not UTF-8 (they are
 * never "repaired"): read `message.headers[name]` for any bytes.
 */
export function headerText(message: Pick<ReactorMessage, 'headers'>, name: string): string | undefined {
  if (typeof name !== 'string') throw new ProtocolError(`headerText: a header name is a string, got ${typeof name}`);
  if (!Object.hasOwn(message.headers, name)) return undefined;
  return utf8OrRefuse(message.headers[name]!, `header ${name}`);
}
