/**
 * The pool supervisors connected over PoolService, by name, and the relay of a scale request to
 * one of them: the request goes down its stream with an id, and the caller waits (bounded) for
 * the ScaleResult with that id. It validates what it can know here (the pool exists, the count
 * is within the pool's min/max, the pool is not autoscaled) so a bad request never reaches a
 * pool, and the pool checks again. It never spawns or counts workers itself: a pool's numbers
 * are what its last message said.
 */
import { TaskForgeError } from '../../common/errors.js';
import type { PoolInfo } from '../../common/records.js';
import type { PoolCommand, PoolState, ScaleResult } from '../../proto/gen/taskforge/v1/pool.js';

export interface PoolConnection {
  send(cmd: PoolCommand): void;
  /** Ends the stream (the scheduler is stopping); the pool reconnects elsewhere. */
  end(): void;
}

export interface PoolEntry {
  readonly name: string;
  readonly host: string;
  readonly connectedAt: Date;
  state: PoolState;
  readonly connection: PoolConnection;
  readonly pending: Map<number, { resolve: (info: PoolInfo) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>;
}

export interface PoolRegistryOptions {
  /** ms a scale request waits for the pool's answer. */
  scaleTimeoutMs: number;
  now?: () => Date;
}

export const poolInfo = (e: PoolEntry): PoolInfo => ({
  name: e.name,
  host: e.host,
  current: e.state.current,
  target: e.state.target,
  min: e.state.min,
  max: e.state.max,
  autoscale: e.state.autoscale,
  workerCapacity: e.state.workerCapacity,
  connectedAt: e.connectedAt.toISOString(),
});

const notConnected = (why: string, reason = 'no_pool'): TaskForgeError => new TaskForgeError('POOL_NOT_CONNECTED', why, { reason });

export class PoolRegistry {
  readonly #pools = new Map<string, PoolEntry>();
  readonly #opts: PoolRegistryOptions;
  #nextRequest = 1;

  constructor(opts: PoolRegistryOptions) {
    this.#opts = opts;
  }

  /** The pools sorted by name. */
  list(): PoolInfo[] {
    return [...this.#pools.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(poolInfo);
  }

  entries(): PoolEntry[] {
    return [...this.#pools.values()];
  }

  /** null: a pool of that name is connected already (a second one is refused, not a takeover). */
  attach(name: string, host: string, state: PoolState, connection: PoolConnection): PoolEntry | null {
    if (this.#pools.has(name)) return null;
    const entry: PoolEntry = { name, host, state, connection, connectedAt: (this.#opts.now ?? (() => new Date()))(), pending: new Map() };
    this.#pools.set(name, entry);
    return entry;
  }

  /** The stream ended: requests waiting on it fail, and the pool is no longer listed. */
  detach(entry: PoolEntry): void {
    if (this.#pools.get(entry.name) === entry) this.#pools.delete(entry.name);
    for (const [id, p] of entry.pending) {
      clearTimeout(p.timer);
      p.reject(notConnected(`pool '${entry.name}' disconnected before it answered`, 'disconnected'));
      entry.pending.delete(id);
    }
  }

  /** Ends every pool's stream; each is detached as its stream goes. */
  close(): void {
    for (const e of this.#pools.values()) e.connection.end();
  }

  update(entry: PoolEntry, state: PoolState): void {
    entry.state = state;
  }

  /** A ScaleResult from the pool: settles the request it answers (an unknown id is ignored: it timed out). */
  answered(entry: PoolEntry, result: ScaleResult): void {
    if (result.state) entry.state = result.state;
    const p = entry.pending.get(result.requestId);
    if (!p) return;
    entry.pending.delete(result.requestId);
    clearTimeout(p.timer);
    if (result.errorCode === '') return p.resolve(poolInfo(entry));
    const code = result.errorCode === 'POOL_AUTOSCALED' ? 'POOL_AUTOSCALED' : 'VALIDATION_ERROR';
    p.reject(
      new TaskForgeError(code, result.errorMessage || 'the pool refused the request', {
        reason: code === 'VALIDATION_ERROR' ? 'out_of_bounds' : 'autoscaled',
        pool: entry.name,
      }),
    );
  }

  /** Resolves with the pool's state once it has taken the new target (its workers start or drain after). */
  scale(poolName: string, workers: number): Promise<PoolInfo> {
    const entry = this.#pick(poolName);
    const { min, max } = entry.state;
    if (entry.state.autoscale) {
      throw new TaskForgeError('POOL_AUTOSCALED', `pool '${entry.name}' runs its own autoscaler (--autoscale): it sets its size between ${min} and ${max}`, {
        reason: 'autoscaled',
        pool: entry.name,
      });
    }
    if (workers < min || workers > max) {
      throw new TaskForgeError(
        'VALIDATION_ERROR',
        `pool '${entry.name}' runs between ${min} and ${max} workers (--min-workers, --max-workers), not ${workers}`,
        {
          field: 'body.workers',
          reason: 'out_of_bounds',
          pool: entry.name,
          min,
          max,
        },
      );
    }
    const requestId = this.#nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        entry.pending.delete(requestId);
        reject(notConnected(`pool '${entry.name}' did not answer within ${this.#opts.scaleTimeoutMs} ms`, 'timeout'));
      }, this.#opts.scaleTimeoutMs);
      timer.unref();
      entry.pending.set(requestId, { resolve, reject, timer });
      entry.connection.send({ msg: { $case: 'scale', value: { requestId, workers } } });
    });
  }

  #pick(poolName: string): PoolEntry {
    if (poolName !== '') {
      const entry = this.#pools.get(poolName);
      if (!entry) throw new TaskForgeError('POOL_NOT_FOUND', `no pool named '${poolName}' is connected`, { reason: 'not_found', pool: poolName });
      return entry;
    }
    const all = [...this.#pools.values()];
    if (all.length === 0) throw notConnected('no worker pool is connected to the scheduler: start one with `taskforge pool`');
    if (all.length > 1) {
      throw new TaskForgeError('VALIDATION_ERROR', `${all.length} pools are connected: name one with "pool"`, {
        field: 'body.pool',
        reason: 'required',
        pools: all.map((p) => p.name).sort(),
      });
    }
    return all[0]!;
  }
}
