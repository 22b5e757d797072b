import { Graph, alg } from '@dagrejs/graphlib';
import { DagCycleError, DagValidationError, UnknownDependencyError } from '../errors';
import { appendResults } from './args';
import { encodingProblem, type Codec, type WireFormat } from '../protocol/codec';
import type { ArgIn, Plan, PlanNode } from './types';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** Validate one node of untrusted input. */
function validateNode(id: string, spec: unknown): Omit<PlanNode, 'id' | 'dependents'> & { args: unknown[]; deps: string[] } {
  if (!isPlainObject(spec)) throw new DagValidationError(`node "${id}" must be an object with a topic and args, got ${describeType(spec)}`, id);
  const { topic, args, deps, argIn, replyMode, codec, wire } = spec;
  if (typeof topic !== 'string' || topic.length === 0) throw new DagValidationError(`node "${id}" has no topic (expected a non-empty string)`, id);
  if (!Array.isArray(args)) throw new DagValidationError(`node "${id}": args must be an array, got ${describeType(args)}`, id);
  if (deps !== undefined && (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string'))) {
    throw new DagValidationError(`node "${id}": deps must be an array of node names`, id);
  }
  if (argIn !== undefined && typeof argIn !== 'function')
    throw new DagValidationError(`node "${id}": argIn must be a function, got ${describeType(argIn)}`, id);
  if (replyMode !== undefined && replyMode !== 'ephemeral' && replyMode !== 'instance') {
    throw new DagValidationError(`node "${id}": replyMode must be 'ephemeral' or 'instance', got ${JSON.stringify(replyMode)}`, id);
  }
  const wrong = encodingProblem(codec, wire);
  if (wrong) throw new DagValidationError(`node "${id}": ${wrong.field} ${wrong.problem}`, id);
  const depList = (deps as string[] | undefined) ?? [];
  if (new Set(depList).size !== depList.length) throw new DagValidationError(`node "${id}": deps name a node twice`, id);
  return {
    topic,
    args,
    deps: depList,
    argIn: (argIn as ArgIn | undefined) ?? appendResults,
    replyMode,
    codec: codec as Codec | undefined,
    wire: wire as WireFormat | undefined,
  };
}

/**
 * Find a cycle's path, following deps, in key order: the first node (in key
 * order) that lies on a cycle starts it, and it ends where it started.
 * graphlib's topsort only says "CycleException", and findCycles gives a
 * cycle's members unordered; users need the path.
 */
function cyclePath(ids: readonly string[], depsOf: (id: string) => readonly string[]): string[] {
  const onCycle = new Set(alg.findCycles(graphOf(ids, depsOf)).flat());
  // A self-loop is not reported by findCycles (a one-node component).
  for (const id of ids) if (depsOf(id).includes(id)) return [id, id];
  const start = ids.find((id) => onCycle.has(id))!;
  // DFS from start through nodes on cycles until we return to start.
  const path: string[] = [start];
  const seen = new Set<string>([start]);
  const walk = (id: string): boolean => {
    for (const d of depsOf(id)) {
      if (d === start) return true;
      if (!onCycle.has(d) || seen.has(d)) continue;
      seen.add(d);
      path.push(d);
      if (walk(d)) return true;
      path.pop();
    }
    return false;
  };
  walk(start);
  return [...path, start];
}

/** Edges go from a node to the nodes it depends on. */
function graphOf(ids: readonly string[], depsOf: (id: string) => readonly string[]): Graph {
  const g = new Graph({ directed: true });
  for (const id of ids) g.setNode(id);
  for (const id of ids) for (const d of depsOf(id)) g.setEdge(id, d);
  return g;
}

/**
 * Build a deps map (untrusted: whatever a depsFn returned) into an immutable
 * plan, or throw a typed error that says what is wrong.
 */
export function buildPlan(deps: unknown): Plan {
  if (!isPlainObject(deps)) throw new DagValidationError(`a deps map must be an object of named calls, got ${describeType(deps)}`);
  const ids = Object.keys(deps);
  const specs = new Map(ids.map((id) => [id, validateNode(id, deps[id])]));
  for (const [id, spec] of specs) {
    for (const d of spec.deps) if (!specs.has(d)) throw new UnknownDependencyError(id, d);
  }
  const depsOf = (id: string) => specs.get(id)!.deps;
  const g = graphOf(ids, depsOf);
  if (!alg.isAcyclic(g)) throw new DagCycleError(cyclePath(ids, depsOf));

  // Kahn's order, ties in key order, so plans are deterministic.
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) for (const d of depsOf(id)) dependents.get(d)!.push(id);
  const remaining = new Map(ids.map((id) => [id, depsOf(id).length]));
  const order: string[] = [];
  let ready = ids.filter((id) => remaining.get(id) === 0);
  const roots = [...ready];
  while (ready.length > 0) {
    order.push(...ready);
    const next: string[] = [];
    for (const id of ready) for (const dep of dependents.get(id)!) if (remaining.set(dep, remaining.get(dep)! - 1).get(dep) === 0) next.push(dep);
    ready = ids.filter((id) => next.includes(id));
  }

  const nodes = new Map<string, PlanNode>();
  for (const id of ids) {
    const s = specs.get(id)!;
    nodes.set(
      id,
      Object.freeze({
        id,
        topic: s.topic,
        args: Object.freeze([...s.args]),
        deps: Object.freeze([...s.deps]),
        dependents: Object.freeze([...dependents.get(id)!]),
        argIn: s.argIn,
        replyMode: s.replyMode,
        codec: s.codec,
        wire: s.wire,
      }),
    );
  }
  return Object.freeze({ nodes, order: Object.freeze(order), roots: Object.freeze(roots) });
}
