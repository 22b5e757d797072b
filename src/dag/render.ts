/**
 * Pictures of a DAG: a deps map (what will run) or a finished run (what
 * happened: each node's status and duration), as Mermaid flowcharts or
 * Graphviz DOT. Pure functions of a validated plan; node names may be any
 * string, so they are never used as identifiers, only as escaped labels.
 */
import { buildPlan } from './build';
import type { DepsMap, NodeOutcome, Plan, RunResult } from './types';

/** The picture formats: a Mermaid flowchart or a Graphviz digraph. */
export type DagFormat = 'mermaid' | 'dot';

export const DAG_FORMATS: readonly DagFormat[] = ['mermaid', 'dot'];

/** A deps map is validated first (a cycle or an unknown dep throws its usual typed error). */
function planOf(dag: DepsMap | Plan): Plan {
  return 'nodes' in dag && dag.nodes instanceof Map ? (dag as Plan) : buildPlan(dag as DepsMap);
}

function durationOf(o: NodeOutcome): string {
  return o.startedAt !== undefined && o.finishedAt !== undefined ? `${o.finishedAt - o.startedAt} ms` : '';
}

/** The lines of a node's label: its name, its topic, and for a run its status and duration. */
function labelLines(plan: Plan, id: string, run: RunResult | undefined): string[] {
  const lines = [id, plan.nodes.get(id)!.topic];
  const o = run?.outcomes[id];
  if (o) lines.push([o.status, durationOf(o)].filter(Boolean).join(' '));
  return lines;
}

const MERMAID_STYLE: Record<string, string> = {
  done: 'fill:#d8f3dc,stroke:#2d6a4f',
  failed: 'fill:#ffd6d6,stroke:#9d0208',
  skipped: 'fill:#eeeeee,stroke:#888888,stroke-dasharray: 4 3',
};

const DOT_STYLE: Record<string, string> = {
  done: 'style=filled, fillcolor="#d8f3dc", color="#2d6a4f"',
  failed: 'style=filled, fillcolor="#ffd6d6", color="#9d0208"',
  skipped: 'style="filled,dashed", fillcolor="#eeeeee", color="#888888"',
};

/** Mermaid text: `"` and the characters Mermaid reads as markup become entity codes; line breaks become spaces. */
function mermaidText(s: string): string {
  return s.replace(/[#"<>&]/g, (c) => `#${c.charCodeAt(0)};`).replace(/\r?\n/g, ' ');
}

/** A Mermaid flowchart, left to right; with a run, nodes are coloured by status. */
export function toMermaid(dag: DepsMap | Plan, run?: RunResult): string {
  const plan = planOf(dag);
  const ids = new Map(plan.order.map((id, i) => [id, `n${i}`]));
  const out = ['flowchart LR'];
  for (const id of plan.order) out.push(`  ${ids.get(id)}["${labelLines(plan, id, run).map(mermaidText).join('<br/>')}"]`);
  for (const id of plan.order) for (const dep of plan.nodes.get(id)!.deps) out.push(`  ${ids.get(dep)} --> ${ids.get(id)}`);
  if (run) {
    for (const [status, style] of Object.entries(MERMAID_STYLE)) out.push(`  classDef ${status} ${style}`);
    for (const id of plan.order) {
      const o = run.outcomes[id];
      if (o) out.push(`  class ${ids.get(id)} ${o.status}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Inside a DOT string literal. */
function dotEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n');
}

/** A Graphviz digraph, left to right; with a run, nodes are coloured by status. */
export function toDot(dag: DepsMap | Plan, run?: RunResult): string {
  const plan = planOf(dag);
  const out = ['digraph dag {', '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];'];
  for (const id of plan.order) {
    const label = labelLines(plan, id, run).map(dotEscape).join('\\n');
    const status = run?.outcomes[id]?.status;
    out.push(`  "${dotEscape(id)}" [label="${label}"${status ? `, ${DOT_STYLE[status]}` : ''}];`);
  }
  for (const id of plan.order) for (const dep of plan.nodes.get(id)!.deps) out.push(`  "${dotEscape(dep)}" -> "${dotEscape(id)}";`);
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** `toMermaid` or `toDot`. */
export function renderDag(dag: DepsMap | Plan, format: DagFormat = 'mermaid', run?: RunResult): string {
  return format === 'dot' ? toDot(dag, run) : toMermaid(dag, run);
}
