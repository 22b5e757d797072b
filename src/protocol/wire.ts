/**
 * Whole messages on the wire: value and headers, in either format
 * (docs/protocol.md, "Two formats").
 *
 * - `envelope` (the default, with the JSON codec): the value is the JSON
 *   envelope of envelope.ts; Spring's `kafka_correlationId` and
 *   `kafka_replyTopic` headers are written alongside, so that a NestJS or
 *   Spring service can answer.
 * - `headers`: the value is the bare payload, encoded by the codec; the
 *   envelope's fields are headers (`kafka_correlationId`, `kafka_replyTopic`,
 *   `kafka-fusion.deadline`, `kafka-fusion.content-type`). What a schema
 *   registry serde or a NestJS `@MessagePattern` handler expects to read.
 *
 * A reply is read in whichever format it came: ours (either), or a NestJS or
 * Spring reply (a bare body with the correlation id in its header). So is a
 * request: a NestJS `ClientKafka` or Spring `ReplyingKafkaTemplate` request
 * (a bare body, `kafka_correlationId` and `kafka_replyTopic` in headers) is
 * answered in the headers format, which both read.
 */
import { ConfigError, ProtocolError, type WireError } from '../errors';
import { encodeWith, encodingProblem, JSON_CODEC, type Codec, type WireFormat } from './codec';
import {
  checkDeadline,
  decodeReply,
  decodeRequest,
  encodeError,
  encodeRequest,
  encodeResult,
  envelopeCorrelationId,
  requestFromObject,
  type RequestEnvelope,
  wireErrorOf,
} from './envelope';
import { strictHeaderText, headerValue, toBytes, utf8, utf8OrRefuse, type HeaderValue, type MessageHeaders, type OutboundHeaders } from './bytes';
import { INTEROP_HEADERS, isProtocolHeader, WIRE_HEADERS } from './headers';

export { WIRE_FORMATS, type WireFormat } from './codec';

/** How a caller writes its requests (and a service its reply to one). */
export interface Encoding {
  readonly codec: Codec;
  readonly wire: WireFormat;
  /**
   * Envelope requests: also write Spring's `kafka_correlationId` and
   * `kafka_replyTopic` (a Spring or NestJS service answers by them). The
   * headers format always writes them. @defaultValue true
   */
  readonly interopHeaders?: boolean;
}

export const DEFAULT_ENCODING: Encoding = Object.freeze({ codec: JSON_CODEC, wire: 'envelope' });

/**
 * A codec and a wire format as given (either may be absent) over a
 * fallback. A codec given alone brings its own format: the JSON envelope for
 * the JSON codec, `headers` for any other; `wire: 'envelope'` alone means
 * JSON, `wire: 'headers'` alone the fallback's codec. The envelope holds JSON
 * only. `path` names the options in a ConfigError.
 */
export function resolveEncoding(path: string, codec: unknown, wire: unknown, fallback: Encoding = DEFAULT_ENCODING): Encoding {
  const wrong = encodingProblem(codec, wire);
  if (wrong) throw new ConfigError(path ? `${path}.${wrong.field}` : wrong.field, wrong.problem);
  const w = (wire as WireFormat | undefined) ?? (codec === undefined ? fallback.wire : codec === JSON_CODEC ? 'envelope' : 'headers');
  const c = (codec as Codec | undefined) ?? (w === 'envelope' ? JSON_CODEC : fallback.codec);
  if (w === fallback.wire && c === fallback.codec) return fallback;
  return fallback.interopHeaders === false ? { codec: c, wire: w, interopHeaders: false } : { codec: c, wire: w };
}

/** JSON.stringify refuses a BigInt or a cycle: the same way every time, so a ProtocolError, not a crash. */
function asJson(encode: () => string, what: string): string {
  try {
    return encode();
  } catch (e) {
    throw new ProtocolError(`the ${what} cannot be encoded as JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export interface OutboundParts {
  value: Buffer | string | null;
  headers: OutboundHeaders;
}

/**
 * The caller's headers without protocol ones (e.g. a request's
 * `kafka_replyTopic`, passed on with `message.headers`): the library writes
 * those a message needs.
 */
function userHeaders(headers: OutboundHeaders): OutboundHeaders {
  // No prototype: a header named __proto__ is copied like any other.
  const out = Object.create(null) as OutboundHeaders;
  for (const [k, v] of Object.entries(headers)) if (!isProtocolHeader(k)) out[k] = v;
  return out;
}

/** A request message. `headers` are the caller's own; protocol headers among them are dropped and the message's own written. */
export async function encodeRequestMessage(request: RequestEnvelope, encoding: Encoding, headers: OutboundHeaders = {}): Promise<OutboundParts> {
  const h = userHeaders(headers);
  if (encoding.wire === 'headers' || encoding.interopHeaders !== false) {
    if (request.correlationId !== undefined) h[INTEROP_HEADERS.correlationId] = request.correlationId;
    if (request.returnTopic !== undefined) h[INTEROP_HEADERS.replyTopic] = request.returnTopic;
  }
  if (encoding.wire === 'envelope') return { value: asJson(() => encodeRequest(request), 'request'), headers: h };
  h[WIRE_HEADERS.contentType] = encoding.codec.contentType;
  if (request.deadline !== undefined) h[WIRE_HEADERS.deadline] = String(request.deadline);
  return { value: await encodeWith(encoding.codec, request.data), headers: h };
}

/** A request as read, with the encoding its reply is written in. */
export interface InboundRequest extends RequestEnvelope {
  encoding: Encoding;
  /** A foreign caller's correlation id as it came (Spring's is 16 binary bytes): its reply echoes these bytes. */
  correlationIdBytes?: Buffer;
  /** The return topic's partition the caller listens on (`kafka_replyPartition`), when it named one. */
  replyPartition?: number;
}

/** The codec that reads `contentType`: the receiver's own, or JSON; undefined if neither. */
function codecFor(contentType: string, own: Codec): Codec | undefined {
  if (contentType === own.contentType) return own;
  return contentType === JSON_CODEC.contentType ? JSON_CODEC : undefined;
}

/** A protocol header's text (strict UTF-8), undefined when absent; an empty one is a ProtocolError. */
function optionalHeader(headers: MessageHeaders, name: string, what: string): string | undefined {
  const v = strictHeaderText(headers, name, what);
  if (v === undefined) return undefined;
  if (v.length === 0) throw new ProtocolError(`${what}: header ${name} is empty`);
  return v;
}

async function decodePayload(codec: Codec, value: Buffer | null, what: string): Promise<unknown> {
  if (value === null) return null;
  try {
    return await codec.decode(value);
  } catch (e) {
    throw new ProtocolError(`${what}: its ${codec.contentType} value could not be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * A bare JSON body, as NestJS and Spring (StringSerializer) write one:
 * parsed, or its text when it is not JSON; nothing is null; bytes that are
 * not UTF-8 are refused.
 */
function bareJson(value: Buffer | null, what: string): unknown {
  if (value === null || value.length === 0) return null;
  const text = utf8OrRefuse(value, what);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * `kafka_replyPartition`: decimal text (NestJS) or a 4-byte big-endian int
 * (Spring). Four printable ASCII bytes are text: as an int they would be at
 * least 538,976,288, never a partition.
 */
export function replyPartitionOf(value: HeaderValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  const raw = toBytes(value);
  const digits = raw.toString('latin1');
  const n = !isPrintableAscii(raw) && raw.length === 4 ? raw.readInt32BE(0) : /^\d{1,10}$/.test(digits) ? Number(digits) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new ProtocolError(`request: header ${INTEROP_HEADERS.replyPartition} is not a partition number`);
  return n;
}

function isPrintableAscii(bytes: Buffer): boolean {
  return bytes.every((b) => b >= 0x20 && b <= 0x7e);
}

/** A correlation id's bytes as text when they are printable ASCII, else in hex (Spring's 16 binary bytes). */
export function correlationIdText(bytes: Buffer): string {
  return isPrintableAscii(bytes) ? bytes.toString('latin1') : bytes.toString('hex');
}

/**
 * A request without a content type whose route is in headers
 * (`kafka_replyTopic`, `kafka_correlationId`): ours in the envelope format
 * when its value is an envelope naming that same id (ours carry both), else
 * a NestJS or Spring caller's bare body, answered in bare JSON. A value that
 * looks like an envelope but is not JSON is a corrupt one of ours, refused.
 * One JSON parse either way.
 */
function routedRequest(value: Buffer | null, headers: MessageHeaders, returnTopic: string, idBytes: Buffer): InboundRequest {
  if (idBytes.length === 0) throw new ProtocolError(`request: header ${INTEROP_HEADERS.correlationId} is empty`);
  // The header's id as text, to compare with an envelope's (ours write the same text in both).
  const idAsText = utf8(idBytes);
  let data: unknown = null;
  if (value !== null && value.length > 0) {
    const text = utf8OrRefuse(value, 'request');
    try {
      data = JSON.parse(text) as unknown;
    } catch {
      if (text.trimStart().startsWith('{')) return { ...decodeRequest(value), encoding: DEFAULT_ENCODING }; // throws its ProtocolError
      data = text;
    }
    // An object with our correlationId field: the header's id, or one that is not a string (refused as ours).
    const id = envelopeCorrelationId(data);
    if (id !== undefined && (id === idAsText || typeof id !== 'string'))
      return { ...requestFromObject(data as Record<string, unknown>), encoding: DEFAULT_ENCODING };
  }
  if (returnTopic.length === 0) throw new ProtocolError(`request: header ${INTEROP_HEADERS.replyTopic} is empty`);
  // An id that is not printable text (Spring's binary one) is named in hex; the reply echoes its bytes.
  const correlationId = correlationIdText(idBytes);
  const request: InboundRequest = { data, encoding: BARE_JSON, returnTopic, correlationId, correlationIdBytes: idBytes };
  const partition = replyPartitionOf(headerValue(headers, INTEROP_HEADERS.replyPartition));
  if (partition !== undefined) request.replyPartition = partition;
  return request;
}

/**
 * Untrusted message → request, or ProtocolError saying what is wrong. `own`
 * decodes the `headers` format besides JSON. Header values are bytes as they
 * came (or text): the protocol's are read as UTF-8 text, strictly, except a
 * foreign caller's correlation id, which may be any bytes (Spring's are 16
 * binary ones) and is echoed as it came.
 */
export async function decodeRequestMessage(value: Buffer | null, headers: MessageHeaders, own: Codec): Promise<InboundRequest> {
  const contentType = strictHeaderText(headers, WIRE_HEADERS.contentType, 'request');
  if (contentType === undefined) {
    const returnTopic = strictHeaderText(headers, INTEROP_HEADERS.replyTopic, 'request');
    const headerId = headerValue(headers, INTEROP_HEADERS.correlationId);
    if (returnTopic === undefined || headerId === undefined) return { ...decodeRequest(value), encoding: DEFAULT_ENCODING };
    return routedRequest(value, headers, returnTopic, toBytes(headerId));
  }
  const codec = codecFor(contentType, own);
  if (codec === undefined)
    throw new ProtocolError(`request is ${JSON.stringify(contentType)}, which this service does not decode (its codec is ${own.contentType})`);
  const request: InboundRequest = { data: await decodePayload(codec, value, 'request'), encoding: { codec, wire: 'headers' } };
  const returnTopic = optionalHeader(headers, INTEROP_HEADERS.replyTopic, 'request');
  const correlationId = optionalHeader(headers, INTEROP_HEADERS.correlationId, 'request');
  const rawDeadline = strictHeaderText(headers, WIRE_HEADERS.deadline, 'request');
  const deadline = checkDeadline(
    rawDeadline === undefined ? undefined : /^\d+(\.\d+)?$/.test(rawDeadline) ? Number(rawDeadline) : rawDeadline,
    `header ${WIRE_HEADERS.deadline}`,
  );
  if (returnTopic !== undefined) request.returnTopic = returnTopic;
  if (correlationId !== undefined) request.correlationId = correlationId;
  if (deadline !== undefined) request.deadline = deadline;
  return request;
}

/** What a service answers: its result, or an error. */
export type ReplyContent = { result: unknown } | { error: WireError };

/**
 * A reply message, in the encoding its request came in. In the envelope
 * format the envelope says everything: no protocol header is added (each
 * costs every reply its encoding and decoding). In the headers format it
 * carries the correlation id and the content type, and what a NestJS caller
 * reads: `kafka_nest-is-disposed` (one reply, the stream is complete) and,
 * on an error, `kafka_nest-err`.
 */
export async function encodeReplyMessage(
  correlationId: string,
  outcome: ReplyContent,
  encoding: Encoding,
  headers: OutboundHeaders = {},
): Promise<OutboundParts> {
  const h = userHeaders(headers);
  if (encoding.wire === 'envelope')
    return {
      value: asJson(() => ('result' in outcome ? encodeResult(correlationId, outcome.result) : encodeError(correlationId, outcome.error)), 'result'),
      headers: h,
    };
  h[INTEROP_HEADERS.correlationId] = correlationId;
  h[INTEROP_HEADERS.nestDisposed] = '1';
  h[WIRE_HEADERS.contentType] = encoding.codec.contentType;
  if ('error' in outcome) {
    const error = JSON.stringify({ name: outcome.error.name, message: outcome.error.message });
    h[WIRE_HEADERS.error] = error;
    h[INTEROP_HEADERS.nestError] = error;
    return { value: null, headers: h };
  }
  return { value: await encodeWith(encoding.codec, outcome.result), headers: h };
}

/** Bare JSON, fields in headers: read by kafka-fusion callers in either format and by NestJS callers. */
export const BARE_JSON: Encoding = Object.freeze({ codec: JSON_CODEC, wire: 'headers' });

/**
 * A reply as routed to its call, before its payload is decoded (by the
 * call's own codec: see replyOutcome).
 */
export type InboundReply =
  | { correlationId: string; result: unknown }
  | { correlationId: string; error: WireError }
  /** A payload to decode: `contentType` is absent for a NestJS or Spring reply. */
  | { correlationId: string; payload: Buffer | null; contentType: string | undefined }
  /** NestJS: the handler's stream ended, nothing more is coming (its value, if any, came before). */
  | { correlationId: string; completion: true };

function errorFromHeader(text: string): WireError {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) return wireErrorOf(parsed);
    if (typeof parsed === 'string') return { name: 'Error', message: parsed };
  } catch {
    // not JSON: the text is the message
  }
  return { name: 'Error', message: text };
}

/** Our JSON envelope reply, if `value` is one that names `correlationId`. */
function envelopeNaming(value: Buffer | null, correlationId: string): InboundReply | undefined {
  if (value === null || value.length === 0 || value[0] !== 0x7b /* { */) return undefined;
  try {
    const reply = decodeReply(value);
    return reply.correlationId === correlationId ? reply : undefined;
  } catch {
    return undefined;
  }
}

/** A reply's correlation id header as text; one that is not UTF-8 is named in hex (it then matches no call of ours); an empty one is a ProtocolError. */
function replyIdOf(headers: MessageHeaders): string | undefined {
  const v = headerValue(headers, INTEROP_HEADERS.correlationId);
  if (v === undefined) return undefined;
  if (v.length === 0) throw new ProtocolError(`reply: header ${INTEROP_HEADERS.correlationId} is empty`);
  return typeof v === 'string' ? v : (utf8(v) ?? v.toString('hex'));
}

/** Untrusted message → a reply to route by correlation id, or ProtocolError saying what is wrong. */
export function parseReply(raw: Buffer | string | null, headers: MessageHeaders): InboundReply {
  const value = typeof raw === 'string' ? Buffer.from(raw) : raw;
  const contentType = strictHeaderText(headers, WIRE_HEADERS.contentType, 'reply');
  const headerId = replyIdOf(headers);
  if (contentType !== undefined) {
    if (headerId === undefined) throw new ProtocolError(`reply: a ${WIRE_HEADERS.contentType} reply has no ${INTEROP_HEADERS.correlationId} header`);
    const error = strictHeaderText(headers, WIRE_HEADERS.error, 'reply');
    return error !== undefined ? { correlationId: headerId, error: errorFromHeader(error) } : { correlationId: headerId, payload: value, contentType };
  }
  if (headerId === undefined) return decodeReply(value);
  // Ours in the envelope format, or a NestJS / Spring reply: a bare body.
  const ours = envelopeNaming(value, headerId);
  if (ours) return ours;
  const nestError = strictHeaderText(headers, INTEROP_HEADERS.nestError, 'reply');
  if (nestError !== undefined) return { correlationId: headerId, error: errorFromHeader(nestError) };
  if ((value === null || value.length === 0) && headerValue(headers, INTEROP_HEADERS.nestDisposed) !== undefined)
    return { correlationId: headerId, completion: true };
  return { correlationId: headerId, payload: value, contentType: undefined };
}

/** Decode a routed reply's payload with the call's codec. */
export async function replyContent(reply: InboundReply, codec: Codec): Promise<ReplyContent> {
  if ('result' in reply) return { result: reply.result };
  if ('error' in reply) return { error: reply.error };
  if ('completion' in reply) return { result: null };
  if (reply.contentType === undefined) {
    // A foreign reply says nothing of its encoding: the call's codec reads
    // it; with JSON, a body that is not JSON (Spring's StringSerializer) is
    // its text.
    if (codec !== JSON_CODEC) return { result: await decodePayload(codec, reply.payload, 'reply') };
    return { result: bareJson(reply.payload, 'reply') };
  }
  const reader = codecFor(reply.contentType, codec);
  if (reader === undefined) throw new ProtocolError(`reply is ${JSON.stringify(reply.contentType)}, but this call decodes ${codec.contentType}`);
  return { result: await decodePayload(reader, reply.payload, 'reply') };
}
