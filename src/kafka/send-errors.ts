/** Telling kafkajs send failures apart, by the `type` kafkajs gives its protocol errors. */

/** True when the error, or any error in its cause chain (kafkajs' retries-exceeded wrapper included), has a kafkajs `type` that `matches`. */
function hasErrorType(e: unknown, matches: (type: string) => boolean): boolean {
  for (let cur: unknown = e, depth = 0; typeof cur === 'object' && cur !== null && depth < 16; depth++) {
    const type = (cur as { type?: unknown }).type;
    if (typeof type === 'string' && matches(type)) return true;
    cur = (cur as { cause?: unknown; originalError?: unknown }).cause ?? (cur as { originalError?: unknown }).originalError;
  }
  return false;
}

/**
 * True when a send failed because its topic does not exist: e.g. a reply to
 * a return topic its caller has deleted, having given up on the call.
 */
export function isUnknownTopic(e: unknown): boolean {
  return hasErrorType(e, (type) => type === 'UNKNOWN_TOPIC_OR_PARTITION');
}

/** Produce errors that no retry can cure: the broker refuses these records as they are. */
const REFUSED_FOR_GOOD = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TOPIC_EXCEPTION', 'TOPIC_AUTHORIZATION_FAILED', 'POLICY_VIOLATION']);

/** True when a send failed for a reason that sending again cannot change (a reply too large for the topic...). */
export function isRefusedForGood(e: unknown): boolean {
  return hasErrorType(e, (type) => REFUSED_FOR_GOOD.has(type));
}

/** True when the broker refused a record for its size (a too-large one can still be answered with a small error). */
export function isTooLarge(e: unknown): boolean {
  return hasErrorType(e, (type) => type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE');
}
