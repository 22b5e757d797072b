/**
 * `kafka-fusion/protocol`: what travels on the wire, for callers and
 * services written without this library (docs/protocol.md): header names,
 * envelopes, errors' codes and the shapes of their context.
 *
 * @packageDocumentation
 * @module kafka-fusion/protocol
 */
export { DEAD_LETTER_HEADERS, INTEROP_HEADERS, WIRE_HEADERS } from '../protocol/headers';
export type { RequestEnvelope, ReplyEnvelope, ResultReply, ErrorReply } from '../protocol/envelope';
export { ERROR_CODES } from '../errors';
export type { WireError, AclRefusal, AclResourceType, TimeoutContext, FusionErrorOptions } from '../errors';
