/** Telling kafkajs send failures apart, by the `type` kafkajs gives its protocol errors. */

/**
 * The kafkajs `type`s of an error and of the errors it holds: its cause
 * chain (kafkajs' retries-exceeded wrapper included) and an aggregate's
 * errors (kafkajs' createTopics gives one per topic).
 */
export function errorTypes(e: unknown): string[] {
  const types: string[] = [];
  const seen = new Set<unknown>();
  const visit = (cur: unknown, depth: number): void => {
    if (typeof cur !== 'object' || cur === null || depth > 16 || seen.has(cur)) return;
    seen.add(cur);
    const type = (cur as { type?: unknown }).type;
    if (typeof type === 'string') types.push(type);
    const errors = (cur as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors.slice(0, 64)) visit(inner, depth + 1);
    visit((cur as { cause?: unknown }).cause ?? (cur as { originalError?: unknown }).originalError, depth + 1);
  };
  visit(e, 0);
  return types;
}

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
