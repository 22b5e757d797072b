/**
 * The wire format (docs/protocol.md). Plain JSON so that a service in any
 * language can take part. Field names are fixed here and nowhere else:
 * fusion-clj once wrote `:return-topic` and read `:response-topic`, and its
 * Reactor never answered; a test pins these names to the documented ones.
 */
import { ProtocolError, type WireError } from '../errors';
import { utf8OrRefuse } from './bytes';

export const FIELDS = {
  data: 'data',
  returnTopic: 'returnTopic',
  correlationId: 'correlationId',
  deadline: 'deadline',
  result: 'result',
  error: 'error',
} as const;

/** A request: the value of a message on a service's topic. */
export interface RequestEnvelope<T = unknown> {
  data: T;
  /** Where the reply goes; absent means fire and forget. */
  returnTopic?: string;
  /** Echoed in the reply so that the caller can match it. */
  correlationId?: string;
  /**
   * When the caller stops waiting: epoch milliseconds (wall clock). A Reactor
   * does not start work whose deadline has passed, and bounds its DAG by it.
   */
  deadline?: number;
}

/** A reply with a result. */
export interface ResultReply<R = unknown> {
  correlationId: string;
  result: R;
}

/** A reply with an error (the service failed). */
export interface ErrorReply {
  correlationId: string;
  error: WireError;
}

/** A reply: the value a service writes to a return topic (envelope format). */
export type ReplyEnvelope<R = unknown> = ResultReply<R> | ErrorReply;

export function encodeRequest(request: RequestEnvelope): string {
  const out: Record<string, unknown> = { [FIELDS.data]: request.data ?? null };
  if (request.returnTopic !== undefined) out[FIELDS.returnTopic] = request.returnTopic;
  if (request.correlationId !== undefined) out[FIELDS.correlationId] = request.correlationId;
  if (request.deadline !== undefined) out[FIELDS.deadline] = request.deadline;
  return JSON.stringify(out);
}

export function encodeResult(correlationId: string, result: unknown): string {
  // JSON has no `undefined`: a procFn that returns nothing replies with null.
  return JSON.stringify({ [FIELDS.correlationId]: correlationId, [FIELDS.result]: result === undefined ? null : result });
}

export function encodeError(correlationId: string, error: WireError): string {
  return JSON.stringify({ [FIELDS.correlationId]: correlationId, [FIELDS.error]: { name: error.name, message: error.message } });
}

/** An error object from another service as `{name, message}`: what is missing is named `Error`, or told as the object's JSON. */
export function wireErrorOf(err: object): WireError {
  const { name, message } = err as Record<string, unknown>;
  return { name: typeof name === 'string' ? name : 'Error', message: typeof message === 'string' ? message : JSON.stringify(err) };
}

/** What a parsed JSON value is, in words: `null`, `an array`, `a string`... */
export function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function parseObject(value: Buffer | string | null, what: string): Record<string, unknown> {
  if (value === null) throw new ProtocolError(`${what} has no value`);
  // JSON text is UTF-8 (RFC 8259, section 8.1): other bytes are refused, not repaired.
  const text = typeof value === 'string' ? value : utf8OrRefuse(value, what);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ProtocolError(`${what} is not JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ProtocolError(`${what} must be a JSON object, got ${jsonKind(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

function optionalString(obj: Record<string, unknown>, field: string, what: string): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new ProtocolError(`${what}: "${field}" must be a non-empty string`);
  return v;
}

/** Untrusted bytes → request envelope, or ProtocolError saying what is wrong. */
export function decodeRequest(value: Buffer | string | null): RequestEnvelope {
  return requestFromObject(parseObject(value, 'request'));
}

/** What an object's `correlationId` field holds, if `parsed` JSON is an object that has the field; undefined otherwise. */
export function envelopeCorrelationId(parsed: unknown): unknown {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return (parsed as Record<string, unknown>)[FIELDS.correlationId];
}

/** A parsed JSON object → request envelope, or ProtocolError saying what is wrong. */
export function requestFromObject(obj: Record<string, unknown>): RequestEnvelope {
  if (!(FIELDS.data in obj)) throw new ProtocolError(`request has no "${FIELDS.data}" field`);
  const request: RequestEnvelope = { data: obj[FIELDS.data] };
  const returnTopic = optionalString(obj, FIELDS.returnTopic, 'request');
  const correlationId = optionalString(obj, FIELDS.correlationId, 'request');
  if (returnTopic !== undefined) request.returnTopic = returnTopic;
  if (correlationId !== undefined) request.correlationId = correlationId;
  const deadline = checkDeadline(obj[FIELDS.deadline], `"${FIELDS.deadline}"`);
  if (deadline !== undefined) request.deadline = deadline;
  return request;
}

/** A request's deadline as sent (a JSON number, or a header's text): epoch milliseconds, or ProtocolError. */
export function checkDeadline(deadline: unknown, what: string): number | undefined {
  if (deadline === undefined || deadline === null) return undefined;
  if (typeof deadline !== 'number' || !Number.isFinite(deadline) || deadline < 1 || deadline > Number.MAX_SAFE_INTEGER) {
    throw new ProtocolError(`request: ${what} must be a positive number (epoch milliseconds), got ${JSON.stringify(deadline)}`);
  }
  // A caller in another language may send a fraction (Python's time.time() * 1000).
  return Math.floor(deadline);
}

/** Untrusted bytes → reply envelope, or ProtocolError saying what is wrong. */
export function decodeReply(value: Buffer | string | null): ReplyEnvelope {
  const obj = parseObject(value, 'reply');
  const correlationId = optionalString(obj, FIELDS.correlationId, 'reply');
  if (correlationId === undefined) throw new ProtocolError(`reply has no "${FIELDS.correlationId}"`);
  if (FIELDS.error in obj) {
    const err = obj[FIELDS.error];
    if (typeof err !== 'object' || err === null) throw new ProtocolError(`reply: "${FIELDS.error}" must be an object`);
    return { correlationId, error: wireErrorOf(err) };
  }
  if (!(FIELDS.result in obj)) throw new ProtocolError(`reply has neither "${FIELDS.result}" nor "${FIELDS.error}"`);
  return { correlationId, result: obj[FIELDS.result] };
}
