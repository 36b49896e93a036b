/**
 * In-memory indexes over execution records, rebuilt from the store at start: by id, by
 * creation order (for newest-first listing with a cursor), by idempotency key (with a digest of
 * the input it was first used with), and counts per status. It never changes a status: it is
 * told about changes by the manager.
 */
import { createHash } from 'node:crypto';
import { TaskForgeError } from '../../common/errors.js';
import { EXECUTION_STATUSES, type Execution, type ExecutionStatus } from '../../common/records.js';

const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

const orderKey = (e: Execution): string => `${e.createdAt}|${e.id}`;

/**
 * What an idempotency key's reuse is compared on: SHA-256 of the input as the scheduler stores it
 * (parsed, then serialised), so the same JSON sent with other whitespace is the same input.
 */
export const inputDigest = (input: unknown): string =>
  createHash('sha256')
    .update(JSON.stringify(input ?? null))
    .digest('hex');

interface IdempotentEntry {
  id: string;
  digest: string;
}

export class ExecutionIndex {
  private readonly byId = new Map<string, Execution>();
  /** Order keys, ascending. New executions almost always go at the end. */
  private readonly order: string[] = [];
  private readonly idempotency = new Map<string, IdempotentEntry>();
  /** Executions that a retry was made of (trigger retry): no longer dead letters. */
  private readonly retried = new Set<string>();
  private readonly counts = Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0])) as Record<ExecutionStatus, number>;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Execution | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<Execution> {
    return this.byId.values();
  }

  /** Bulk load at start: one sort instead of n inserts. */
  load(executions: Execution[]): void {
    for (const e of executions) {
      this.byId.set(e.id, e);
      this.counts[e.status] += 1;
      if (e.idempotencyKey) this.idempotency.set(idemKey(e.function, e.idempotencyKey), { id: e.id, digest: inputDigest(e.input) });
      if (e.trigger?.type === 'retry') this.retried.add(e.trigger.of);
      this.order.push(orderKey(e));
    }
    this.order.sort();
  }

  /** `digest`: the input's inputDigest when the caller has it already. */
  add(e: Execution, digest?: string): void {
    this.byId.set(e.id, e);
    this.counts[e.status] += 1;
    if (e.idempotencyKey) this.idempotency.set(idemKey(e.function, e.idempotencyKey), { id: e.id, digest: digest ?? inputDigest(e.input) });
    if (e.trigger?.type === 'retry') this.retried.add(e.trigger.of);
    const key = orderKey(e);
    let i = this.order.length;
    while (i > 0 && this.order[i - 1]! > key) i -= 1;
    this.order.splice(i, 0, key);
  }

  remove(id: string): void {
    const e = this.byId.get(id);
    if (!e) return;
    this.byId.delete(id);
    this.counts[e.status] -= 1;
    if (e.idempotencyKey && this.idempotency.get(idemKey(e.function, e.idempotencyKey))?.id === id) {
      this.idempotency.delete(idemKey(e.function, e.idempotencyKey));
    }
    const i = lowerBound(this.order, orderKey(e));
    if (this.order[i] === orderKey(e)) this.order.splice(i, 1);
  }

  /** Keeps per-status counts right; call after every transition. */
  statusChanged(from: ExecutionStatus, to: ExecutionStatus): void {
    this.counts[from] -= 1;
    this.counts[to] += 1;
  }

  statusCounts(): Record<ExecutionStatus, number> {
    return { ...this.counts };
  }

  /** The execution an idempotency key already started within the window, if any, with its input's digest. */
  findIdempotent(fn: string, key: string, nowMs: number): { execution: Execution; digest: string } | undefined {
    const entry = this.idempotency.get(idemKey(fn, key));
    const e = entry ? this.byId.get(entry.id) : undefined;
    if (!e || !entry) return undefined;
    if (nowMs - Date.parse(e.createdAt) > IDEMPOTENCY_WINDOW_MS) return undefined;
    return { execution: e, digest: entry.digest };
  }

  /**
   * A dead letter: an async execution that ended failed or timed_out after its last attempt (or
   * expired in the queue) and has not been retried. Sync ones had a caller who got the error.
   */
  isDeadLetter(e: Execution): boolean {
    return e.mode === 'async' && (e.status === 'failed' || e.status === 'timed_out') && !this.retried.has(e.id);
  }

  /** `functions`: only executions of these (a key limited to them is asking). `deadLetters`: only those. */
  list(filter: { function?: string; status?: string; limit: number; cursor?: string; functions?: ReadonlySet<string>; deadLetters?: boolean }): {
    executions: Execution[];
    nextCursor: string | null;
  } {
    let end = this.order.length;
    if (filter.cursor) {
      const key = decodeCursor(filter.cursor);
      end = lowerBound(this.order, key);
    }
    const out: Execution[] = [];
    let i = end - 1;
    for (; i >= 0 && out.length < filter.limit; i -= 1) {
      const id = this.order[i]!.slice(this.order[i]!.indexOf('|') + 1);
      const e = this.byId.get(id);
      if (!e) continue;
      if (filter.function && e.function !== filter.function) continue;
      if (filter.functions && !filter.functions.has(e.function)) continue;
      if (filter.status && e.status !== filter.status) continue;
      if (filter.deadLetters && !this.isDeadLetter(e)) continue;
      out.push(e);
    }
    const last = out[out.length - 1];
    const more = last !== undefined && out.length === filter.limit && i >= 0;
    return { executions: out, nextCursor: more ? encodeCursor(orderKey(last)) : null };
  }
}

function idemKey(fn: string, key: string): string {
  return `${fn}\u0000${key}`;
}

function lowerBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{4}-\d{2}-\d{2}T[\d:.]+Z\|[A-Za-z0-9_-]{1,64}$/.test(key)) {
    throw new TaskForgeError('VALIDATION_ERROR', 'cursor: not a cursor returned by this API', { field: 'query.cursor', reason: 'invalid' });
  }
  return key;
}
