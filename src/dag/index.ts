/** The DAG engine: pure (no Kafka), exhaustively unit-tested. */
export { buildPlan } from './build';
export { runPlan, DagRunFailure } from './run';
export { appendResults, prependResults, injectArgs } from './args';
export type { ArgIn, CallSpec, DepsMap, Plan, PlanNode, NodeOutcome, NodeStatus, RunResult, CallNode, RunOptions } from './types';
