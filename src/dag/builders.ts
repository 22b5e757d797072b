/**
 * Plans (after the Spigot seed's `[:spigot/serial ...]` forms): a workflow
 * written as `serial(...)` and `parallel(...)` of named calls, turned into
 * the deps map a Reactor's depsFn returns, instead of wiring `deps` by hand.
 *
 *   serial(task('a', 'svc.a', [1]), parallel(task('b', 'svc.b'), task('c', 'svc.c')), task('d', 'svc.d'))
 *
 * is the diamond: b and c after a, d after both (its dependency results in
 * the order b, c).
 */
import { DagValidationError } from '../errors';
import { buildPlan } from './build';
import type { CallSpec, DepsMap } from './types';

/** A piece of a plan: its calls, the ones that start it (no deps inside it) and the ones that end it (no dependents inside it). */
export interface PlanStep {
  readonly calls: ReadonlyMap<string, CallSpec>;
  readonly entries: readonly string[];
  readonly exits: readonly string[];
}

/** A task's call options: how dependency results join its args, its reply mode, codec and wire format (see CallSpec). */
export type TaskOptions = Pick<CallSpec, 'argIn' | 'replyMode' | 'codec' | 'wire'>;

const TASK_OPTIONS = ['argIn', 'replyMode', 'codec', 'wire'] as const satisfies readonly (keyof TaskOptions)[];

/** One task (a call of the deps map): `args` are sent to `topic`, with the results of the step before it joined by `argIn` (appended by default). */
export function task(name: string, topic: string, args: unknown[] = [], options: TaskOptions = {}): PlanStep {
  if (typeof name !== 'string' || name.length === 0) throw new DagValidationError(`a task needs a name (a non-empty string), got ${JSON.stringify(name)}`);
  const given = TASK_OPTIONS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]);
  const spec: CallSpec = { topic, args, ...Object.fromEntries(given) };
  return { calls: new Map([[name, spec]]), entries: [name], exits: [name] };
}

function merged(steps: readonly PlanStep[], what: string): Map<string, CallSpec> {
  if (steps.length === 0) throw new DagValidationError(`${what}() needs at least one step`);
  const calls = new Map<string, CallSpec>();
  for (const step of steps) {
    if (!step || !(step.calls instanceof Map)) throw new DagValidationError(`${what}(): every step must be a task(), serial() or parallel()`);
    for (const [name, spec] of step.calls) {
      if (calls.has(name)) throw new DagValidationError(`the plan names "${name}" twice; task names must be unique`, name);
      calls.set(name, { ...spec, ...(spec.deps && { deps: [...spec.deps] }) });
    }
  }
  return calls;
}

/** One step after the other: every call that starts a step waits for every call that ends the step before. */
export function serial(...steps: PlanStep[]): PlanStep {
  const calls = merged(steps, 'serial');
  for (let i = 1; i < steps.length; i++) {
    for (const entry of steps[i]!.entries) {
      const spec = calls.get(entry)!;
      spec.deps = [...(spec.deps ?? []), ...steps[i - 1]!.exits];
    }
  }
  return { calls, entries: [...steps[0]!.entries], exits: [...steps[steps.length - 1]!.exits] };
}

/** Steps side by side, all at once: the step starts with all their starts and ends when all have ended. */
export function parallel(...steps: PlanStep[]): PlanStep {
  const calls = merged(steps, 'parallel');
  return { calls, entries: steps.flatMap((s) => s.entries), exits: steps.flatMap((s) => s.exits) };
}

/** The deps map of a plan, validated (a depsFn can return it as it is). */
export function toDepsMap(step: PlanStep): DepsMap {
  const deps: DepsMap = Object.fromEntries(merged([step], 'toDepsMap'));
  buildPlan(deps);
  return deps;
}
