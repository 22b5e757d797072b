import type { Kafka } from 'kafkajs';
import { TransportError, type FusionError } from '../errors';
import { authorizationError } from './authz';
import { errorTypes } from './error-types';
/** Telling kafkajs send failures apart, by the `type` kafkajs gives its protocol errors. */

/** True when the error, or any error it holds, has a kafkajs `type` that `matches`. */
function hasErrorType(e: unknown, matches: (type: string) => boolean): boolean {
  return errorTypes(e).some(matches);
}

/**
 * True when a send failed because its topic does not exist: e.g. a reply to
 * a return topic its caller has deleted, having given up on the call.
 */
export function isUnknownTopic(e: unknown): boolean {
  return hasErrorType(e, (type) => type === 'UNKNOWN_TOPIC_OR_PARTITION');
}

/** Produce errors that no retry can cure: the broker refuses these records as they are. */
const REFUSED_FOR_GOOD = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'POLICY_VIOLATION',
]);

/** True when a send failed for a reason that sending again cannot change (a reply too large for the topic...). */
export function isRefusedForGood(e: unknown): boolean {
  return hasErrorType(e, (type) => REFUSED_FOR_GOOD.has(type));
}

/** True when the broker refused a record for its size (a too-large one can still be answered with a small error). */
export function isTooLarge(e: unknown): boolean {
  return hasErrorType(e, (type) => type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE');
}

/**
 * A failed write as the library's typed error: an AuthorizationError, or a
 * TransportError whose `reason` says what the broker said: refused for good
 * (`'too-large'`, `'refused'`; not retriable) or `'unknown-topic'`.
 */
export function sendFailure(kafka: Kafka, topic: string, e: unknown, what: string): FusionError {
  const refused = authorizationError(kafka, e, { topic: { operation: 'Write', resource: topic, pattern: 'literal' } }, what);
  if (refused) return refused;
  if (isUnknownTopic(e)) return new TransportError(`could not send to "${topic}"`, e, true, 'unknown-topic');
  if (isTooLarge(e)) return new TransportError(`could not send to "${topic}"`, e, false, 'too-large');
  if (isRefusedForGood(e)) return new TransportError(`could not send to "${topic}"`, e, false, 'refused');
  return new TransportError(`could not send to "${topic}"`, e);
}
