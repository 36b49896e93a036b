/**
 * The live list of executions: a page read from `GET /v1/executions`, then kept current by the
 * changes `/v1/events` sends. Pure: (list, change) → list.
 */
import { matchesTrigger } from './records.js';
import { TERMINAL, type Execution } from './types.js';

export interface Filters {
  function: string;
  status: string;
  /**
   * How it was invoked (`sync` / `async`) or what started it (`invoke`, `topic`, `cron`, `retry`):
   * the API has no filter for it, so it is applied here.
   */
  mode: string;
}

export const NO_FILTERS: Filters = Object.freeze({ function: '', status: '', mode: '' });

export const matches = (e: Pick<Execution, 'function' | 'status' | 'mode' | 'trigger'>, f: Filters): boolean =>
  (!f.function || e.function === f.function) && (!f.status || e.status === f.status) && matchesTrigger(e, f.mode);

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
    const merged = mergeNewer(old, change);
    if (merged === old) return [...list];
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

/**
 * How far an execution has got: attempt by attempt, queued before running (a retry queues it
 * again, one attempt on), and the end after everything.
 */
export const progress = (e: Pick<Execution, 'status' | 'attempt'>): number =>
  TERMINAL.has(e.status) ? Number.POSITIVE_INFINITY : e.attempt * 2 + (e.status === 'running' ? 1 : 0);

/**
 * `next` over `cur`, unless it is an older state (a read that raced a live change): `cur` itself
 * then. Fields `next` lacks (a live change has no input or output) are kept from `cur`.
 */
export function mergeNewer(cur: Execution | null, next: Execution): Execution {
  if (!cur) return next;
  if (progress(next) < progress(cur) || (TERMINAL.has(cur.status) && !TERMINAL.has(next.status))) return cur;
  return { ...cur, ...next };
}

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
