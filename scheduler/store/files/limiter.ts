/**
 * A counting semaphore for file-system work. Thousands of records flushed or loaded at once must
 * not open thousands of files at once (EMFILE, and a libuv thread pool queue nobody can see).
 * Work runs in the order it was handed in.
 */
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function createLimiter(max: number): Limiter {
  let active = 0;
  const waiting: Array<() => void> = [];

  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active -= 1;
  };

  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < max) active += 1;
      // A released slot is handed straight to the next waiter, so `active` stays counted.
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}

/** Runs `fn` over `items` with at most `max` in flight; results keep the input order. */
export async function mapLimited<T, R>(items: readonly T[], max: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(max, items.length) }, lane));
  return results;
}
