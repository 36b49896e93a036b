/**
 * When executions become due (a delayed invoke's `scheduledFor`, a retry's backoff), held as one
 * min-heap over every pending due time with ONE timer armed for the earliest of them — never a
 * timer per execution. 100k delayed executions cost 100k heap entries and one timer; loading
 * them at start is one O(n) heapify.
 *
 * The durable part is the record itself (its `scheduledFor` / `retryAt`): this index is rebuilt
 * from the records at start (recovery.ts) and only says "its time has come"; what that means is
 * decided by transition.ts when the event is applied.
 *
 * Removal is lazy: `delete` forgets the id and the stale heap entry is dropped when it reaches
 * the top (or when stale entries outnumber live ones, by a rebuild). Entries with the same time
 * come out in the order they were set.
 */

/** setTimeout's longest delay; a later due time is reached through intermediate wake-ups. */
const MAX_TIMER_MS = 2_147_483_647;

interface Entry {
  atMs: number;
  seq: number;
  id: string;
}

const before = (a: Entry, b: Entry): boolean => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);

export class DueIndex {
  private heap: Entry[] = [];
  /** id → the seq of its current heap entry (older entries for the id are stale). */
  private readonly current = new Map<string, Entry>();
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAtMs = Infinity;
  /** When the armed timer fires, by the clock it was armed with. */
  private timerFiresAtMs = -Infinity;

  constructor(
    private readonly onDue: (id: string) => void,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.current.size;
  }

  has(id: string): boolean {
    return this.current.has(id);
  }

  /** The due time of `id`, if it is waiting. */
  dueAt(id: string): number | undefined {
    return this.current.get(id)?.atMs;
  }

  /** Sets (or moves) the due time of `id` to `atMs` (epoch ms). */
  set(id: string, atMs: number): void {
    const entry: Entry = { atMs, seq: this.seq++, id };
    this.current.set(id, entry);
    this.push(entry);
    this.compactIfStale();
    this.arm();
  }

  /** Bulk load at start: one heapify instead of n inserts, one timer. */
  load(entries: Iterable<readonly [id: string, atMs: number]>): void {
    for (const [id, atMs] of entries) {
      const entry: Entry = { atMs, seq: this.seq++, id };
      this.current.set(id, entry);
      this.heap.push(entry);
    }
    this.heapify();
    this.arm();
  }

  delete(id: string): void {
    if (!this.current.delete(id)) return;
    if (this.current.size === 0) {
      this.heap = [];
      this.disarm();
    } else this.compactIfStale();
  }

  clear(): void {
    this.current.clear();
    this.heap = [];
    this.disarm();
  }

  /** Whether a timer is armed (for tests: one for the whole index, or none). */
  get armed(): boolean {
    return this.timer !== null;
  }

  private fire(): void {
    // The timer is trusted to mean its time has come, even when the clock lags the timers' own by
    // a little (transition.ts checks a delayed execution's time again when `due` is applied).
    const nowMs = Math.max(this.now(), this.timerFiresAtMs);
    this.timer = null;
    this.timerAtMs = Infinity;
    this.timerFiresAtMs = -Infinity;
    for (;;) {
      const top = this.peek();
      if (!top || top.atMs > nowMs) break;
      this.pop();
      this.current.delete(top.id);
      // May set() again (the event decided it is not due yet): that entry is in the heap already.
      this.onDue(top.id);
    }
    this.arm();
  }

  /** Arms the one timer for the earliest live entry, if it is not armed for it already. */
  private arm(): void {
    const top = this.peek();
    if (!top) {
      this.disarm();
      return;
    }
    if (this.timer && this.timerAtMs <= top.atMs) return;
    this.disarm();
    const nowMs = this.now();
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, top.atMs - nowMs));
    this.timerAtMs = top.atMs;
    this.timerFiresAtMs = nowMs + delay;
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAtMs = Infinity;
    this.timerFiresAtMs = -Infinity;
  }

  /** The earliest live entry, dropping stale ones on the way. */
  private peek(): Entry | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.current.get(top.id) === top) return top;
      this.pop();
    }
    return undefined;
  }

  private compactIfStale(): void {
    if (this.heap.length > 64 && this.heap.length > 2 * this.current.size) {
      this.heap = [...this.current.values()];
      this.heapify();
    }
  }

  private push(entry: Entry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    this.siftDown(0);
  }

  private heapify(): void {
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i -= 1) this.siftDown(i);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
