import { DagValidationError } from '../errors';
import type { ArgIn, PlanNode } from './types';

/** Default: dependency results after the args, in deps order (fusion-clj's `conj`). */
export const appendResults: ArgIn = (args, depResults) => [...args, ...depResults];

/** Dependency results before the args, in deps order (fusion-clj's `cons`). */
export const prependResults: ArgIn = (args, depResults) => [...depResults, ...args];

/** The args a node is called with, once its deps have results. */
export function injectArgs(node: PlanNode, results: ReadonlyMap<string, unknown>): unknown[] {
  const depResults = node.deps.map((d) => results.get(d));
  const args = node.argIn([...node.args], depResults);
  if (!Array.isArray(args)) {
    throw new DagValidationError(`node "${node.id}": argIn must return an array, got ${args === null ? 'null' : typeof args}`, node.id);
  }
  return args;
}
