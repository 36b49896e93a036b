/**
 * The live list of executions: a page read from `GET /v1/executions`, then kept current by the
 * changes `/v1/events` sends. Pure: (list, change) → list.
 */
import type { Execution } from './types.js';

export interface Filters {
  function: string;
  status: string;
  /** How it was invoked (`sync` / `async`): the API has no filter for it, so it is applied here. */
  mode: string;
}

export const NO_FILTERS: Filters = Object.freeze({ function: '', status: '', mode: '' });

export const matches = (e: Pick<Execution, 'function' | 'status' | 'mode'>, f: Filters): boolean =>
  (!f.function || e.function === f.function) && (!f.status || e.status === f.status) && (!f.mode || e.mode === f.mode);

export interface ApplyOptions {
  /** Whether a new execution joins the list (only the first page shows new ones). */
  insert: boolean;
  /** Rows the list keeps. */
  max: number;
}

/** The list after one change: an execution it shows is updated (or leaves when it no longer matches); a new one is added on top. */
export function applyChange(list: readonly Execution[], change: Execution, f: Filters, opts: ApplyOptions): Execution[] {
  const i = list.findIndex((e) => e.id === change.id);
  if (i !== -1) {
    const old = list[i]!;
    // Only a newer state replaces an older one: states only move forward.
    if (rank(change) < rank(old)) return [...list];
    const merged = { ...old, ...change };
    const next = [...list];
    if (matches(merged, f)) next[i] = merged;
    else next.splice(i, 1);
    return next;
  }
  if (!opts.insert || !matches(change, f)) return [...list];
  const next = [change, ...list];
  next.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return next.slice(0, opts.max);
}

const rank = (e: Pick<Execution, 'status'>): number => (e.status === 'queued' ? 0 : e.status === 'running' ? 1 : 2);

/** Page cursors for Previous / Next: the cursor of each page shown so far (null: the first). */
export class Pager {
  private readonly stack: (string | null)[] = [null];
  get cursor(): string | null {
    return this.stack[this.stack.length - 1] ?? null;
  }
  get page(): number {
    return this.stack.length;
  }
  get first(): boolean {
    return this.stack.length === 1;
  }
  next(cursor: string): void {
    this.stack.push(cursor);
  }
  previous(): void {
    if (this.stack.length > 1) this.stack.pop();
  }
  reset(): void {
    this.stack.length = 1;
  }
}
