/**
 * Leadership among the schedulers sharing one PostgreSQL database: one row, `leader_lease`, holds
 * who leads (`holder`), since which takeover (`epoch`, +1 on every takeover) and until when
 * (`expires_at`, the database's clock, so the hosts' clocks never matter).
 *
 * - acquire() waits until the lease is free (expired, released, or held by this same holder name:
 *   a scheduler restarted after a kill takes its lease back at once) and takes it, epoch + 1.
 * - The leader renews every ttl/3. It counts itself deposed when a renewal finds another epoch, or
 *   when ttl − margin has passed since the start of its last good renewal, whichever comes first:
 *   the row expires no earlier than ttl after that start, so the leader has stopped before any
 *   standby may take over (margin covers the two hosts' clocks running at slightly other rates).
 * - Fencing: every write transaction of the store starts with fence(), which reads the row with
 *   FOR KEY SHARE and refuses the transaction when the epoch is no longer this leader's. A takeover
 *   locks the row FOR UPDATE, which waits for those transactions: a deposed leader's write either
 *   commits before the takeover (and the new leader loads it) or is refused. Renewals are plain
 *   UPDATEs of non-key columns and do not wait for writes.
 *
 * It must never report leadership it does not hold, nor let a write through under another epoch.
 */
import type pg from 'pg';
import { TaskForgeError } from '../../../common/errors.js';
import type { Logger } from '../../../common/logger.js';

export const LEASE_DEFAULTS = Object.freeze({
  /** ms a lease lasts unrenewed: a standby takes over at most this long after the leader died. */
  ttlMs: 3_000,
  /** ms between a standby's attempts to take a lease that is not free. */
  pollMs: 250,
  /** Share of ttl kept as margin: the leader stops at ttl·(1 − margin) after its last renewal's start. */
  margin: 0.2,
});

export interface LeaseOptions {
  /** Who holds it, as shown to operators; the same name takes its own lease back at once. */
  holder: string;
  ttlMs?: number;
  pollMs?: number;
  log: Logger;
  /** Time source (ms); tests pass a fake. */
  now?: () => number;
}

/** Why a write of a deposed scheduler is refused: the API answers it as a storage failure (503). */
export function fencedError(epoch: number, current: unknown): TaskForgeError {
  return new TaskForgeError('STORAGE_UNAVAILABLE', 'this scheduler is no longer the leader; retry against the active scheduler', {
    reason: 'FENCED',
    epoch,
    currentEpoch: current === undefined ? null : Number(current),
  });
}

type Queryable = Pick<pg.Pool, 'query'>;

export class LeaderLease {
  readonly holder: string;
  readonly ttlMs: number;
  readonly #pollMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  #epoch: number | null = null;
  /** Local time at which this leader must count itself deposed, unless renewed before. */
  #deadline = 0;
  #timer: NodeJS.Timeout | null = null;
  #deadlineTimer: NodeJS.Timeout | null = null;
  #deposed: Error | null = null;
  #onDeposed: Array<(err: Error) => void> = [];
  #stopped = false;
  #wakeWaiter: (() => void) | null = null;

  constructor(
    private readonly db: Queryable,
    opts: LeaseOptions,
  ) {
    this.holder = opts.holder;
    this.ttlMs = opts.ttlMs ?? LEASE_DEFAULTS.ttlMs;
    this.#pollMs = opts.pollMs ?? LEASE_DEFAULTS.pollMs;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    if (!(this.ttlMs >= 100)) throw new RangeError('lease ttlMs must be at least 100');
  }

  /** The epoch this scheduler leads under; null before acquire() or after it was deposed. */
  get epoch(): number | null {
    return this.#deposed ? null : this.#epoch;
  }

  /** Calls `fn` once, when this leader is deposed (at once when it already is). */
  onDeposed(fn: (err: Error) => void): void {
    if (this.#deposed) fn(this.#deposed);
    else this.#onDeposed.push(fn);
  }

  /** Waits until this scheduler holds the lease; resolves with its epoch. Rejects only when stopped. */
  async acquire(): Promise<number> {
    let waitingFor: string | null = null;
    for (;;) {
      if (this.#stopped) throw new Error('lease stopped before it was acquired');
      const started = this.#now();
      try {
        const got = await this.#tryTake();
        if (got.epoch !== null) {
          this.#epoch = got.epoch;
          this.#renewed(started);
          this.#log.info({ holder: this.holder, epoch: got.epoch, previous: got.previous || null }, 'leader lease acquired');
          return got.epoch;
        }
        if (waitingFor !== got.previous) {
          waitingFor = got.previous;
          this.#log.info({ holder: this.holder, leader: got.previous }, 'standby: another scheduler leads; waiting for its lease');
        }
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'standby: cannot reach the database to take the lease');
      }
      await this.#sleep(this.#pollMs);
    }
  }

  /** In a write transaction, before its writes: throws when this scheduler no longer holds the lease. */
  async fence(client: Pick<pg.PoolClient, 'query'>): Promise<void> {
    const epoch = this.#epoch;
    if (epoch === null || this.#deposed) throw this.#deposed ?? fencedError(epoch ?? 0, undefined);
    const { rows } = await client.query<{ epoch: string }>('SELECT epoch FROM leader_lease WHERE id = 1 FOR KEY SHARE');
    const current = rows[0]?.epoch;
    if (current === undefined || Number(current) !== epoch) {
      const err = fencedError(epoch, current);
      this.#depose(err, 'a write found another epoch');
      throw err;
    }
  }

  /** Gives the lease up (a clean stop), so a standby takes over at once. Idempotent. */
  async release(): Promise<void> {
    const epoch = this.#epoch;
    this.stop();
    if (epoch === null || this.#deposed) return;
    this.#deposed = new Error('lease released');
    await this.db
      .query("UPDATE leader_lease SET expires_at = now() - interval '1 millisecond' WHERE id = 1 AND epoch = $1", [epoch])
      .catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'could not release the leader lease; it expires by itself'));
    this.#log.info({ holder: this.holder, epoch }, 'leader lease released');
  }

  /** Stops renewing (and a pending acquire). */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    this.#wakeWaiter?.();
  }

  async #tryTake(): Promise<{ epoch: number | null; previous: string }> {
    // One statement: the CTE's FOR UPDATE waits for the current leader's write transactions.
    const { rows } = await this.db.query<{ taken: boolean; epoch: string; holder: string; previous: string }>(
      `WITH cur AS (SELECT holder, epoch, expires_at FROM leader_lease WHERE id = 1 FOR UPDATE),
            upd AS (
              UPDATE leader_lease l SET holder = $1, epoch = l.epoch + 1, expires_at = now() + $2 * interval '1 millisecond'
              FROM cur WHERE l.id = 1 AND (cur.expires_at <= now() OR cur.holder = $1)
              RETURNING l.epoch)
       SELECT (SELECT epoch FROM upd) IS NOT NULL AS taken, COALESCE((SELECT epoch FROM upd), cur.epoch) AS epoch, cur.holder AS previous FROM cur`,
      [this.holder, this.ttlMs],
    );
    const row = rows[0];
    if (!row) throw new Error('leader_lease has no row: the schema was not migrated');
    return { epoch: row.taken ? Number(row.epoch) : null, previous: row.previous };
  }

  #renewed(startedAt: number): void {
    this.#deadline = startedAt + this.ttlMs * (1 - LEASE_DEFAULTS.margin);
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#depose(new Error('lease not renewed in time'), 'renewals did not get through in time'),
      this.#deadline - this.#now(),
    );
    this.#deadlineTimer.unref();
    if (!this.#timer && !this.#stopped) this.#scheduleRenew();
  }

  #scheduleRenew(): void {
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        void this.#renew();
      },
      Math.floor(this.ttlMs / 3),
    );
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    const epoch = this.#epoch;
    if (this.#stopped || this.#deposed || epoch === null) return;
    const started = this.#now();
    try {
      const { rows } = await this.db.query<{ epoch: string }>(
        "UPDATE leader_lease SET expires_at = now() + $2 * interval '1 millisecond' WHERE id = 1 AND epoch = $1 RETURNING epoch",
        [epoch, this.ttlMs],
      );
      if (this.#stopped || this.#deposed) return;
      if (rows.length === 0) return this.#depose(fencedError(epoch, undefined), 'another scheduler took the lease');
      // A renewal that came back after the deadline does not revive a leader that already stopped.
      if (this.#now() < this.#deadline) this.#renewed(started);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, epoch }, 'leader lease renewal failed');
    }
    if (!this.#stopped && !this.#deposed && !this.#timer) this.#scheduleRenew();
  }

  #depose(err: Error, why: string): void {
    if (this.#deposed || this.#stopped) return;
    this.#deposed = err;
    this.#clearTimers();
    this.#log.error({ holder: this.holder, epoch: this.#epoch, why }, 'leader lease lost: this scheduler stops serving');
    for (const fn of this.#onDeposed.splice(0)) fn(err);
  }

  #clearTimers(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#timer = this.#deadlineTimer = null;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wakeWaiter = done;
    });
  }
}

/** The lease's table, created by migration 3 with its one row, free (expired) from the start. */
export const LEASE_MIGRATION_SQL = `
  CREATE TABLE leader_lease (
    id integer PRIMARY KEY CHECK (id = 1),
    holder text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL
  );
  INSERT INTO leader_lease (id, holder, epoch, expires_at) VALUES (1, '', 0, '-infinity');
`;
