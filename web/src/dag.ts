/**
 * The layout of a workflow's DAG for its run view: each step in a column by the longest chain of
 * needs before it (so every edge goes left to right), rows in definition order within a column.
 * Pure: positions only, the page draws them.
 */

export interface DagStep {
  id: string;
  needs?: readonly string[];
}

export interface DagNode {
  id: string;
  column: number;
  row: number;
}

export interface DagEdge {
  from: string;
  to: string;
}

export interface DagLayout {
  nodes: DagNode[];
  edges: DagEdge[];
  columns: number;
  rows: number;
}

/** Steps with needs that name no step, or that form a cycle, are laid out in column 0 (the API refuses both). */
export function layoutDag(steps: readonly DagStep[]): DagLayout {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const needs = (byId.get(id)?.needs ?? []).filter((n) => byId.has(n));
    const d = needs.length === 0 ? 0 : 1 + Math.max(...needs.map(depth));
    visiting.delete(id);
    column.set(id, d);
    return d;
  };
  const nextRow = new Map<number, number>();
  const nodes: DagNode[] = steps.map((s) => {
    const c = depth(s.id);
    const row = nextRow.get(c) ?? 0;
    nextRow.set(c, row + 1);
    return { id: s.id, column: c, row };
  });
  const edges: DagEdge[] = steps.flatMap((s) => (s.needs ?? []).filter((n) => byId.has(n)).map((n) => ({ from: n, to: s.id })));
  return {
    nodes,
    edges,
    columns: nodes.length === 0 ? 0 : Math.max(...nodes.map((n) => n.column)) + 1,
    rows: nodes.length === 0 ? 0 : Math.max(...[...nextRow.values()]),
  };
}
