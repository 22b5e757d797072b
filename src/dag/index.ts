/** The DAG engine: pure (no Kafka), exhaustively unit-tested. */
export { buildPlan } from './build';
export { runPlan, DagRunFailure } from './run';
export { appendResults, prependResults, injectArgs } from './args';
export { toMermaid, toDot, renderDag, DAG_FORMATS, type DagFormat } from './render';
export { task, serial, parallel, toDepsMap, type PlanStep, type TaskOptions } from './builders';
export type { ArgIn, CallSpec, DepsMap, Plan, PlanNode, NodeOutcome, NodeStatus, RunResult, CallNode, RunOptions } from './types';
