/**
 * The PostgreSQL store's writer: every change goes through one queue, committed by one
 * transaction at a time (the group commit the file store's journal does with fdatasync).
 *
 * - A durable change is a unit with a waiter; it starts a commit at once, or, while one is in
 *   flight, joins the next one: every durable change that arrived meanwhile shares that COMMIT.
 *   Its waiter settles only when that COMMIT has succeeded (or failed).
 * - A lazy change (putExecution, putLogs) returns at once, replaces any pending change of the same
 *   record (coalescing) and is committed within `delayMs`, together with whatever else is pending.
 * - Order per record: every change gets a sequence number, a commit writes only the newest change
 *   of each record it holds, and commits never overlap, so an older change can never overtake a
 *   newer one. A lazy change that failed is queued again unless a newer change of its record came.
 *
 * It must never resolve a waiter before its COMMIT returned, and never split a unit across
 * transactions (putExecutionsDurable is all or nothing).
 */
import type { PoolClient } from 'pg';
import type { Logger } from '../../../common/logger.js';
import { writeRecords, type RecordTable } from './record-sql.js';

export interface Change {
  table: RecordTable;
  /** The record's primary key (name or id). */
  key: string;
  /** The record's JSON, or null to delete it. */
  text: string | null;
  /** The row's other columns, the key first (record-sql.ts); [key] for a delete. */
  columns: readonly string[];
  seq: number;
}

interface Unit {
  changes: Change[];
  resolve(): void;
  reject(err: unknown): void;
}

export interface CommitQueueOptions {
  connect(): Promise<PoolClient>;
  /** How long a lazy change waits for company, in ms. */
  delayMs: number;
  /** How long to wait before committing again lazy changes whose commit failed, in ms. */
  retryMs: number;
  log: Logger;
  /** What a failed commit becomes for its callers (the store's STORAGE_UNAVAILABLE). */
  failed(err: unknown): Error;
  /** Runs first in every transaction; throwing refuses it (the leader lease's fencing, leader-lease.ts). */
  fence?(client: PoolClient): Promise<void>;
}

const recordKey = (table: RecordTable, key: string): string => `${table}\u0000${key}`;

/** A value PostgreSQL refused (SQLSTATE classes 22, 23, 54): only that change fails, not its neighbours. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

export class CommitQueue {
  private seq = 0;
  private units: Unit[] = [];
  private lazy = new Map<string, Change>();
  /** Every change handed over and not yet committed or dropped, newest per record (reads see it). */
  private latest = new Map<string, Change>();
  private running: Promise<Error | null> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: CommitQueueOptions) {}

  change(table: RecordTable, key: string, text: string | null, columns: readonly string[] = [key]): Change {
    const change = { table, key, text, columns, seq: ++this.seq };
    this.latest.set(recordKey(table, key), change);
    return change;
  }

  /** Resolves once `changes` are committed, all in one transaction. */
  durable(changes: Change[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.units.push({ changes, resolve, reject });
      void this.kick();
    });
  }

  lazyChange(change: Change): void {
    this.lazy.set(recordKey(change.table, change.key), change);
    this.schedule(this.opts.delayMs);
  }

  /** The newest change of a record not yet committed, if any. */
  pending(table: RecordTable, key: string): Change | undefined {
    return this.latest.get(recordKey(table, key));
  }

  /** Resolves once everything handed over before the call is committed; rejects if a commit of it failed. */
  async flush(): Promise<void> {
    const target = this.seq;
    for (;;) {
      if (this.running) await this.running;
      const waiting = this.units.some((u) => u.changes.some((c) => c.seq <= target)) || [...this.lazy.values()].some((c) => c.seq <= target);
      if (!waiting) return;
      const err = await this.kick();
      if (err) throw err;
    }
  }

  /** No more timers; what is pending stays for flush(). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.kick();
    }, ms);
    this.timer.unref();
  }

  /** Starts commits until nothing is pending, unless they are running; resolves with the last one's error. */
  private kick(): Promise<Error | null> {
    this.running ??= (async () => {
      // Past the assignment above before anything else: `running = null` below must come after it.
      await Promise.resolve();
      let err: Error | null = null;
      while (this.units.length > 0 || (this.lazy.size > 0 && err === null)) {
        err = await this.round();
        // A failed commit leaves lazy changes queued: they wait retryMs, durable ones go on at once.
        if (err && this.units.length === 0) break;
      }
      this.running = null;
      if (this.lazy.size > 0) this.schedule(err ? this.opts.retryMs : this.opts.delayMs);
      return err;
    })();
    return this.running;
  }

  private async round(): Promise<Error | null> {
    const units = this.units.splice(0);
    const lazy = [...this.lazy.values()];
    this.lazy.clear();
    const newest = new Map<string, Change>();
    for (const c of [...units.flatMap((u) => u.changes), ...lazy]) {
      const k = recordKey(c.table, c.key);
      if ((newest.get(k)?.seq ?? 0) < c.seq) newest.set(k, c);
    }
    try {
      await this.commit([...newest.values()]);
      for (const c of newest.values()) this.committed(c);
      for (const u of units) u.resolve();
      return null;
    } catch (err) {
      if (isDataError(err) && units.length + lazy.length > 1) return this.oneByOne(units, lazy);
      const error = this.opts.failed(err);
      for (const u of units) {
        for (const c of u.changes) this.dropped(c);
        u.reject(error);
      }
      for (const c of lazy) this.requeue(c);
      this.opts.log.error({ err: error.message, durable: units.length, lazy: lazy.length }, 'commit failed');
      return error;
    }
  }

  /** After a value was refused: each unit in its own transaction, in order, so one bad record fails alone. */
  private async oneByOne(units: Unit[], lazy: Change[]): Promise<Error | null> {
    const all: Array<{ changes: Change[]; unit?: Unit }> = [...units.map((unit) => ({ changes: unit.changes, unit })), ...lazy.map((c) => ({ changes: [c] }))];
    all.sort((a, b) => Math.min(...a.changes.map((c) => c.seq)) - Math.min(...b.changes.map((c) => c.seq)));
    let last: Error | null = null;
    for (const { changes, unit } of all) {
      try {
        await this.commit(changes);
        for (const c of changes) this.committed(c);
        unit?.resolve();
      } catch (err) {
        const error = this.opts.failed(err);
        for (const c of changes) this.dropped(c);
        if (unit) unit.reject(error);
        else this.opts.log.error({ table: changes[0]!.table, key: changes[0]!.key, err: (err as Error).message }, 'record refused by the database: dropped');
        if (!isDataError(err)) last = error;
      }
    }
    return last;
  }

  private async commit(changes: Change[]): Promise<void> {
    if (changes.length === 0) return;
    const client = await this.opts.connect();
    let broken: Error | undefined;
    // A connection lost between two statements is reported as an event (the next query rejects
    // too): without a listener that event would end the process.
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      if (this.opts.fence) await this.opts.fence(client);
      await writeRecords(client, changes);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
      throw err;
    } finally {
      client.off('error', onError);
      // A client whose connection failed (or whose ROLLBACK did) must not be handed out again.
      client.release(broken);
    }
  }

  private committed(c: Change): void {
    const k = recordKey(c.table, c.key);
    if (this.latest.get(k) === c) this.latest.delete(k);
  }

  private dropped(c: Change): void {
    this.committed(c);
  }

  private requeue(c: Change): void {
    const k = recordKey(c.table, c.key);
    // A newer change of the record (durable or lazy) supersedes the one that failed.
    if (this.latest.get(k) !== c) return;
    this.lazy.set(k, c);
  }
}
