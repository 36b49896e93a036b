/** Attempts running per function, cluster-wide: what a function's `concurrency` is held against. */
export class RunningCounts {
  private readonly byFunction = new Map<string, number>();

  get(fn: string): number {
    return this.byFunction.get(fn) ?? 0;
  }

  add(fn: string, delta: number): void {
    const n = this.get(fn) + delta;
    if (n <= 0) this.byFunction.delete(fn);
    else this.byFunction.set(fn, n);
  }
}
