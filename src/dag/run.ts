import { DagRunError, StateError } from '../errors';
import { injectArgs } from './args';
import type { CallNode, NodeOutcome, Plan, RunOptions, RunResult } from './types';

/** A run that stopped on a failed node; `outcomes` says what happened to every node. */
export class DagRunFailure extends DagRunError {
  readonly outcomes: Record<string, NodeOutcome>;
  constructor(node: string, cause: unknown, outcomes: Record<string, NodeOutcome>) {
    super(node, cause);
    this.outcomes = outcomes;
  }
}

/**
 * Run a plan: every node starts as soon as all its deps are done, so
 * independent nodes run concurrently and wall time follows the longest path.
 * Fail fast: on the first failure, calls in flight are aborted (through the
 * signal they were given), nodes not started are skipped, and the run rejects
 * with DagRunFailure once the calls in flight have settled.
 */
export function runPlan(plan: Plan, callNode: CallNode, options: RunOptions = {}): Promise<RunResult> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const outcomes: Record<string, NodeOutcome> = {};
  for (const [id, node] of plan.nodes) outcomes[id] = { id, topic: node.topic, status: 'skipped' };
  if (options.signal?.aborted || plan.nodes.size === 0) {
    const run: RunResult = { results: {}, outcomes, startedAt, finishedAt: now() };
    try {
      options.onSettled?.(run);
    } catch (e) {
      return Promise.reject(e);
    }
    if (options.signal?.aborted) return Promise.reject(new StateError(`run aborted before it started: ${String(options.signal.reason)}`));
    return Promise.resolve(run);
  }

  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const results = new Map<string, unknown>();
  const waiting = new Map([...plan.nodes].map(([id, n]) => [id, n.deps.length]));

  return new Promise<RunResult>((resolve, reject) => {
    let inFlight = 0;
    let failure: { node: string; cause: unknown } | undefined;

    const settleIfIdle = () => {
      if (inFlight > 0 || (!failure && results.size < plan.nodes.size)) return;
      options.signal?.removeEventListener('abort', onOuterAbort);
      const run: RunResult = {
        results: Object.fromEntries(plan.order.filter((id) => results.has(id)).map((id) => [id, results.get(id)])),
        outcomes,
        startedAt,
        finishedAt: now(),
      };
      try {
        options.onSettled?.(run);
      } catch (e) {
        return reject(e);
      }
      // An abort from outside is not a node's failure: reject with its reason.
      if (failure) reject(failure.node === '' ? failure.cause : new DagRunFailure(failure.node, failure.cause, outcomes));
      else resolve(run);
    };

    const fail = (id: string, cause: unknown) => {
      if (!failure) {
        failure = { node: id, cause };
        abort.abort(cause);
      }
    };

    const start = (id: string) => {
      const node = plan.nodes.get(id)!;
      const outcome = outcomes[id]!;
      outcome.startedAt = now();
      inFlight++;
      let call: Promise<unknown>;
      try {
        const args = injectArgs(node, results);
        outcome.args = args;
        call = Promise.resolve(callNode(node, args, abort.signal));
      } catch (e) {
        call = Promise.reject(e);
      }
      call.then(
        (result) => {
          outcome.finishedAt = now();
          outcome.status = 'done';
          outcome.result = result;
          results.set(id, result);
          inFlight--;
          if (!failure) {
            for (const dep of node.dependents) {
              const left = waiting.get(dep)! - 1;
              waiting.set(dep, left);
              if (left === 0) start(dep);
            }
          }
          settleIfIdle();
        },
        (error: unknown) => {
          outcome.finishedAt = now();
          outcome.status = 'failed';
          outcome.error = error;
          inFlight--;
          fail(id, error);
          settleIfIdle();
        },
      );
    };

    abort.signal.addEventListener('abort', () => {
      if (!failure) failure = { node: '', cause: abort.signal.reason };
    });
    for (const id of plan.roots) start(id);
  });
}
