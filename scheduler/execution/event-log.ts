/**
 * Every execution state change, numbered, for live views (docs/API-PLATFORM.md "Live views"): the last
 * `capacity` changes stay in a ring so a watcher that reconnects resumes where it left off
 * (after that, it is told it missed some: reset). Watchers are indexed by what they filter on,
 * so a change reaches only the watchers it matches: a hundred watchers of other functions cost
 * a change nothing but one lookup. A change is recorded as a snapshot of the record without
 * input and output (its fields are replaced, never mutated, by transitions, so a shallow copy
 * is the state of that moment); its JSON is made once, the first time a watcher needs it.
 */
import type { Execution, ExecutionStatus } from '../../common/records.js';

export interface ExecutionChange {
  seq: number;
  executionId: string;
  function: string;
  status: ExecutionStatus;
  attempt: number;
  tsMs: number;
  /** The Execution without input and output, as JSON. */
  json(): string;
}

export interface WatchFilter {
  function?: string;
  executionId?: string;
  /** Only these functions (a key limited to them). */
  functions?: ReadonlySet<string>;
}

export type ChangeListener = (change: ExecutionChange) => void;

export interface Watch {
  /** Changes after `afterSeq` still in the ring, or null when some of them are gone (reset). */
  readonly replay: ExecutionChange[] | null;
  close(): void;
}

/** Default number of changes kept for resuming watchers. */
export const EVENT_LOG_CAPACITY = 10_000;

type Snapshot = Omit<Execution, 'input' | 'output' | 'lease' | 'retryAt'>;

class Change implements ExecutionChange {
  private text: string | null = null;
  constructor(
    readonly seq: number,
    readonly tsMs: number,
    private readonly snapshot: Snapshot,
  ) {}
  get executionId(): string {
    return this.snapshot.id;
  }
  get function(): string {
    return this.snapshot.function;
  }
  get status(): ExecutionStatus {
    return this.snapshot.status;
  }
  get attempt(): number {
    return this.snapshot.attempt;
  }
  json(): string {
    this.text ??= JSON.stringify(this.snapshot);
    return this.text;
  }
}

interface Subscriber {
  filter: WatchFilter;
  listener: ChangeListener;
}

export class EventLog {
  private seq = 0;
  private readonly ring: (Change | undefined)[];
  private readonly all = new Set<Subscriber>();
  private readonly byFunction = new Map<string, Set<Subscriber>>();
  private readonly byExecution = new Map<string, Set<Subscriber>>();

  /**
   * `firstSeq`: the number before the first change. The scheduler starts it at its start time in
   * µs, so numbers keep growing across restarts and an id from an earlier process is never taken
   * for one of this process (it is older than the ring: reset).
   */
  constructor(
    private readonly now: () => number,
    readonly capacity: number = EVENT_LOG_CAPACITY,
    firstSeq = 0,
  ) {
    this.ring = new Array<Change | undefined>(capacity);
    this.seq = firstSeq;
    this.firstSeq = firstSeq;
  }

  private readonly firstSeq: number;

  /** The sequence number of the latest change (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  get watchers(): number {
    let n = this.all.size;
    for (const s of this.byFunction.values()) n += s.size;
    for (const s of this.byExecution.values()) n += s.size;
    return n;
  }

  append(rec: Execution): void {
    const { input: _input, output: _output, lease: _lease, retryAt: _retryAt, ...snapshot } = rec;
    const change = new Change(++this.seq, this.now(), snapshot);
    this.ring[change.seq % this.capacity] = change;
    if (this.all.size > 0) this.deliver(this.all, change);
    const byFn = this.byFunction.get(rec.function);
    if (byFn) this.deliver(byFn, change);
    const byEx = this.byExecution.get(rec.id);
    if (byEx) this.deliver(byEx, change);
  }

  /**
   * Starts watching. With `afterSeq` > 0 the changes after it that are still in the ring come
   * back as `replay` (in order, filtered), or `replay: null` when the ring no longer reaches back
   * that far; live changes go to `listener` from the next append on.
   */
  watch(filter: WatchFilter, listener: ChangeListener, afterSeq = 0): Watch {
    const sub: Subscriber = { filter, listener };
    let replay: ExecutionChange[] | null = [];
    if (afterSeq > this.seq) replay = null;
    else if (afterSeq > 0 && afterSeq < this.seq) {
      const oldest = Math.max(this.firstSeq + 1, this.seq - this.capacity + 1);
      if (afterSeq + 1 < oldest) replay = null;
      else
        for (let s = afterSeq + 1; s <= this.seq; s++) {
          const c = this.ring[s % this.capacity];
          if (c && matches(filter, c)) replay.push(c);
        }
    }
    const set = this.setFor(filter);
    set.add(sub);
    return {
      replay,
      close: () => {
        set.delete(sub);
        if (set.size === 0) {
          if (filter.executionId && this.byExecution.get(filter.executionId) === set) this.byExecution.delete(filter.executionId);
          else if (filter.function && this.byFunction.get(filter.function) === set) this.byFunction.delete(filter.function);
        }
      },
    };
  }

  private setFor(filter: WatchFilter): Set<Subscriber> {
    const index = filter.executionId ? this.byExecution : filter.function ? this.byFunction : null;
    if (!index) return this.all;
    const key = (filter.executionId ?? filter.function)!;
    let set = index.get(key);
    if (!set) {
      set = new Set();
      index.set(key, set);
    }
    return set;
  }

  private deliver(subs: Set<Subscriber>, change: Change): void {
    for (const sub of subs) if (matches(sub.filter, change)) sub.listener(change);
  }
}

function matches(filter: WatchFilter, c: ExecutionChange): boolean {
  if (filter.executionId && c.executionId !== filter.executionId) return false;
  if (filter.function && c.function !== filter.function) return false;
  if (filter.functions && !filter.functions.has(c.function)) return false;
  return true;
}
