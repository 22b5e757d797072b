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
