/**
 * `kafka-fusion/dag`: the DAG engine on its own, without Kafka: validate a
 * deps map into a plan, run a plan with your own call function, draw a deps
 * map or a run (Mermaid, DOT), and the shapes of plans and runs.
 *
 * @packageDocumentation
 * @module kafka-fusion/dag
 */
export { buildPlan, runPlan, DagRunFailure, toMermaid, toDot, renderDag } from '../dag';
export type { DagFormat } from '../dag';
export type { Plan, PlanNode, NodeOutcome, NodeStatus, RunResult, CallNode, RunOptions } from '../dag';
