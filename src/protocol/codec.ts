/**
 * Codecs: how the payload of a call (its `data`, and the `result` of its
 * reply) becomes bytes. JSON by default, inside the JSON envelope; any other
 * codec (MessagePack, a schema-registry serde...) writes the payload bare,
 * with the envelope's fields in headers (docs/protocol.md, "Two formats").
 */
import { ProtocolError } from '../errors';
import { utf8OrRefuse } from './bytes';

/** Encodes and decodes payloads. `decode` may be handed bytes another service wrote: it should throw on bytes it cannot read. */
export interface Codec {
  /**
   * Names the encoding on the wire (header `kafka-fusion.content-type`), so
   * that a receiver picks the same codec: `application/msgpack`,
   * `application/vnd.acme.order+avro`...
   */
  readonly contentType: string;
  /** A payload to bytes. May be async (a schema registry lookup). */
  encode(value: unknown): Buffer | Uint8Array | string | Promise<Buffer | Uint8Array | string>;
  /** Bytes to a payload. May be async. */
  decode(bytes: Buffer): unknown;
}

/**
 * The default: JSON (a result of `undefined` is sent as `null`). JSON text is
 * UTF-8 (RFC 8259, section 8.1): bytes that are not are refused, never
 * decoded with replacement characters.
 */
export const JSON_CODEC: Codec = Object.freeze({
  contentType: 'application/json',
  encode: (value: unknown) => JSON.stringify(value === undefined ? null : value),
  decode: (bytes: Buffer) => JSON.parse(utf8OrRefuse(bytes, 'the value')) as unknown,
});

/** What is wrong with something given as a codec, or undefined if it is one. */
function codecProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return `must be an object with contentType, encode and decode, got ${v === null ? 'null' : typeof v}`;
  const { contentType, encode, decode } = v as Record<string, unknown>;
  if (typeof contentType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(contentType))
    return `contentType must be a media type such as "application/msgpack", got ${JSON.stringify(contentType)}`;
  if (typeof encode !== 'function' || typeof decode !== 'function') return 'encode and decode must be functions';
  return undefined;
}

/** How a message is laid out: the JSON envelope, or the payload bare with the envelope's fields in headers (docs/protocol.md). */
export type WireFormat = 'envelope' | 'headers';

export const WIRE_FORMATS: readonly WireFormat[] = ['envelope', 'headers'];

/**
 * What is wrong with a codec and a wire format given together (either may
 * be absent), naming the one at fault; undefined if nothing. The envelope
 * holds JSON only.
 */
export function encodingProblem(codec: unknown, wire: unknown): { field: 'codec' | 'wire'; problem: string } | undefined {
  if (wire !== undefined && !WIRE_FORMATS.includes(wire as WireFormat))
    return { field: 'wire', problem: `must be 'envelope' or 'headers', got ${JSON.stringify(wire)}` };
  const problem = codec === undefined ? undefined : codecProblem(codec);
  if (problem !== undefined) return { field: 'codec', problem };
  if (wire === 'envelope' && codec !== undefined && codec !== JSON_CODEC) {
    return { field: 'wire', problem: `'envelope' carries data as JSON inside the JSON envelope; codec ${(codec as Codec).contentType} needs wire 'headers'` };
  }
  return undefined;
}

/** A payload encoded, as bytes Kafka takes; a codec that fails (the same way every time) is a ProtocolError. */
export async function encodeWith(codec: Codec, value: unknown): Promise<Buffer | string> {
  let out: unknown;
  try {
    out = await codec.encode(value);
  } catch (e) {
    throw new ProtocolError(`codec ${codec.contentType} could not encode the payload: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof out === 'string' || Buffer.isBuffer(out)) return out;
  // A copy: a codec may hand out a view of a buffer it reuses.
  if (out instanceof Uint8Array) return Buffer.from(out);
  throw new ProtocolError(`codec ${codec.contentType}: encode must return a Buffer, a Uint8Array or a string, got ${out === null ? 'null' : typeof out}`);
}
