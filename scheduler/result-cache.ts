/**
 * The result cache (FunctionSpec `cacheTtlMs`): the output of a succeeded execution, kept for
 * the TTL and answered to an invoke of the same function version with the same input (by the
 * input's digest, record-index.ts) without running it again. Memory only, least recently used
 * first out past `maxBytes` of outputs: a restart empties it, which costs runs, never answers.
 */

interface Entry {
  output: unknown;
  /** The execution whose output this is. */
  executionId: string;
  expiresAtMs: number;
  bytes: number;
}

export interface CachedResult {
  output: unknown;
  executionId: string;
}

export const RESULT_CACHE_DEFAULT_BYTES = 64 * 1024 * 1024;

export class ResultCache {
  /** Map order is recency: a hit moves its entry to the end; eviction takes from the front. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(
    private readonly maxBytes: number = RESULT_CACHE_DEFAULT_BYTES,
    private readonly now: () => number = Date.now,
  ) {}

  static key(fn: string, version: number, inputDigest: string): string {
    return `${fn}@${version}\u0000${inputDigest}`;
  }

  get(key: string): CachedResult | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expiresAtMs) {
      this.#drop(key, e);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return { output: e.output, executionId: e.executionId };
  }

  /** Keeps `output` for `ttlMs`; an output larger than the whole budget is not kept. */
  set(key: string, output: unknown, executionId: string, ttlMs: number): void {
    const bytes = Buffer.byteLength(JSON.stringify(output ?? null)) + key.length;
    const old = this.#entries.get(key);
    if (old) this.#drop(key, old);
    if (bytes > this.maxBytes || ttlMs <= 0) return;
    this.#entries.set(key, { output, executionId, expiresAtMs: this.now() + ttlMs, bytes });
    this.#bytes += bytes;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#drop(k, e);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #drop(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= e.bytes;
  }
}
