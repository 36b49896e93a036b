/**
 * Callers waiting for an execution to end (sync invokes, long-polls). Woken by the manager the
 * moment the execution turns terminal — pushed, never polled — or when their wait runs out.
 */
export class Waiters<T> {
  private readonly waiting = new Map<string, Set<(value: T | null) => void>>();

  /** Resolves with the value given to `wake`, or null after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<T | null> {
    return new Promise((resolve) => {
      let set = this.waiting.get(id);
      if (!set) {
        set = new Set();
        this.waiting.set(id, set);
      }
      const done = (value: T | null): void => {
        clearTimeout(timer);
        const s = this.waiting.get(id);
        if (s) {
          s.delete(done);
          if (s.size === 0) this.waiting.delete(id);
        }
        resolve(value);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      set.add(done);
    });
  }

  wake(id: string, value: T): void {
    const set = this.waiting.get(id);
    if (!set) return;
    for (const done of [...set]) done(value);
  }

  /** Releases every waiter with null (shutdown). */
  releaseAll(): void {
    for (const [id, set] of [...this.waiting]) {
      for (const done of [...set]) done(null);
      this.waiting.delete(id);
    }
  }

  get size(): number {
    let n = 0;
    for (const s of this.waiting.values()) n += s.size;
    return n;
  }
}
