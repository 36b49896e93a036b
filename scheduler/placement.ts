/**
 * Placement: which worker runs an execution. Pure: it reads a snapshot and decides.
 *
 * load(w) = slots taken on w / capacity(w). Pick the minimum; among workers within one slot of
 * the minimum prefer one with a warm sandbox of the function version; break ties at random.
 * A worker with no free slot is never eligible, so capacity is never exceeded.
 */
import type { Placement } from '../common/records.js';

export interface PlacementCandidate {
  id: string;
  capacity: number;
  /** Executions the scheduler has sent and not yet seen finish. */
  taken: number;
  warm: ReadonlySet<string>;
  ready: boolean;
}

export interface PlacementDecision<T extends PlacementCandidate> {
  worker: T;
  placement: Placement;
}

export function pickWorker<T extends PlacementCandidate>(
  workers: Iterable<T>,
  functionKey: string,
  random: () => number = Math.random,
): PlacementDecision<T> | null {
  const eligible: T[] = [];
  let min = Infinity;
  for (const w of workers) {
    if (!w.ready || w.capacity <= 0 || w.taken >= w.capacity) continue;
    eligible.push(w);
    const load = w.taken / w.capacity;
    if (load < min) min = load;
  }
  if (eligible.length === 0) return null;
  // "Within one slot": taking one slot more would put w at or below the minimum plus one slot of w.
  const near = eligible.filter((w) => w.taken / w.capacity - min <= 1 / w.capacity + 1e-9);
  const warm = near.filter((w) => w.warm.has(functionKey));
  let pool = warm.length > 0 ? warm : near;
  if (warm.length === 0) {
    // No warm worker nearby: stay strictly least-loaded.
    pool = near.filter((w) => Math.abs(w.taken / w.capacity - min) < 1e-9);
  }
  const worker = pool[Math.floor(random() * pool.length) % pool.length]!;
  return {
    worker,
    placement: {
      workerId: worker.id,
      load: Math.round((worker.taken / worker.capacity) * 1000) / 1000,
      warm: worker.warm.has(functionKey),
      candidates: eligible.length,
    },
  };
}
