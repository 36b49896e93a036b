/**
 * The queue of executions ready to dispatch, by priority with aging (docs/QUEUEING.md).
 *
 * Each entry has a rank (low 0, normal 1, high 2, critical 3) and the time it became ready. It
 * is served in the order of `readyAtMs - rank × agingMs`: a higher priority is a head start of
 * one `agingMs` per level, which is the same as saying that waiting work gains one level per
 * `agingMs` waited. A `low` execution that has waited 3 × agingMs is therefore ahead of any
 * `critical` one that arrives after that: nothing is starved. Equal keys go in arrival order.
 *
 * One FIFO per rank (a Map keeps insertion order and deletes in O(1)); within a rank the key
 * grows with arrival, so the queue's order is a merge of four sorted lists, walked lazily by
 * `keys()`. Entries may be deleted while it is walked (the pump does).
 */
import type { Priority } from '../../common/records.js';

export const PRIORITY_RANK: Readonly<Record<Priority, number>> = Object.freeze({ low: 0, normal: 1, high: 2, critical: 3 });

/** Default aging: one priority level per 10 s waited. */
export const DEFAULT_AGING_MS = 10_000;

export class PriorityQueue {
  private readonly byRank: Array<Map<string, number>> = [0, 1, 2, 3].map(() => new Map<string, number>());
  private readonly rankOf = new Map<string, number>();

  constructor(readonly agingMs: number = DEFAULT_AGING_MS) {}

  get size(): number {
    return this.rankOf.size;
  }

  has(id: string): boolean {
    return this.rankOf.has(id);
  }

  /** Adds `id`, ready since `readyAtMs`; already queued: left where it is. */
  add(id: string, priority: Priority | undefined, readyAtMs: number): void {
    if (this.rankOf.has(id)) return;
    const rank = PRIORITY_RANK[priority ?? 'normal'] ?? PRIORITY_RANK.normal;
    this.rankOf.set(id, rank);
    this.byRank[rank]!.set(id, readyAtMs - rank * this.agingMs);
  }

  delete(id: string): boolean {
    const rank = this.rankOf.get(id);
    if (rank === undefined) return false;
    this.rankOf.delete(id);
    this.byRank[rank]!.delete(id);
    return true;
  }

  /** The ids in dispatch order: smallest key first, ties to the higher rank, then arrival. */
  *keys(): Generator<string> {
    const its = this.byRank.map((m) => m.entries());
    const heads: Array<[string, number] | undefined> = its.map((it) => it.next().value);
    for (;;) {
      let best = -1;
      for (let r = 3; r >= 0; r -= 1) {
        const h = heads[r];
        if (h && (best < 0 || h[1] < heads[best]![1])) best = r;
      }
      if (best < 0) return;
      const [id] = heads[best]!;
      heads[best] = its[best]!.next().value;
      // Deleted (dispatched, cancelled) after it was read as a head: skip it.
      if (this.rankOf.get(id) === best) yield id;
    }
  }
}
