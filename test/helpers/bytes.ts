import { headerValue, toBytes, type MessageHeaders } from '../../src/protocol/bytes';

/** Headers as UTF-8 text, for assertions on text headers (a test of bytes compares the bytes). */
export function texts(headers: MessageHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const v = headerValue(headers, name);
    if (v !== undefined) out[name] = toBytes(v).toString('utf8');
  }
  return out;
}

/** A key as UTF-8 text, for assertions on text keys. */
export function keyOf(m: { key: Buffer | null }): string | null {
  return m.key === null ? null : m.key.toString('utf8');
}
