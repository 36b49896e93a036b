/**
 * Checks presented API keys with the scheduler and remembers each answer for at most 1 s
 * (docs/API.md: a deleted key stops working within 1 s). Concurrent requests with the same key
 * share one lookup; a failed lookup (scheduler unreachable) is not remembered.
 *
 * Entries are keyed by a SHA-256 of the key, so the cache never holds a secret, and bounded in
 * number, so a flood of made-up keys cannot grow it. The gateway keeps no other key data.
 */
import { createHash } from 'node:crypto';
import type { Principal } from '../common/api-keys.js';
import { OptionsError } from '../common/options-error.js';

export interface Authenticator {
  /** The key's principal, or null when it is not a current key. */
  authenticate(key: string): Promise<Principal | null>;
  /** Drops any remembered answer for this key id (it was just deleted through this gateway). */
  forget(keyId: string): void;
}

export const KEY_CACHE_DEFAULTS = Object.freeze({
  /** ms an answer is reused; the contract allows at most 1000. */
  ttlMs: 1000,
  /** answers remembered at most; past it the oldest go first. */
  maxEntries: 10_000,
});

export interface CachingAuthenticatorOptions {
  ttlMs?: number;
  maxEntries?: number;
  /** Epoch ms; default Date.now (fake timers replace it). */
  now?: () => number;
}

interface Entry {
  expiresAt: number;
  answer: Promise<Principal | null>;
  keyId: string | null;
}

export class CachingAuthenticator implements Authenticator {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly lookup: (key: string) => Promise<Principal | null>,
    opts: CachingAuthenticatorOptions = {},
  ) {
    const ttlMs = opts.ttlMs ?? KEY_CACHE_DEFAULTS.ttlMs;
    if (!Number.isFinite(ttlMs) || ttlMs < 0 || ttlMs > 1000) throw new OptionsError('ttlMs', `key cache ttlMs must be 0…1000, got ${String(ttlMs)}`);
    const maxEntries = opts.maxEntries ?? KEY_CACHE_DEFAULTS.maxEntries;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new OptionsError('maxEntries', `key cache maxEntries must be a positive integer, got ${String(maxEntries)}`);
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.now = opts.now ?? (() => Date.now());
  }

  get size(): number {
    return this.entries.size;
  }

  authenticate(key: string): Promise<Principal | null> {
    const id = createHash('sha256').update(key).digest('base64');
    // Counted from when the lookup was sent: the answer is never older than ttlMs.
    const now = this.now();
    const hit = this.entries.get(id);
    if (hit && hit.expiresAt > now) return hit.answer;
    if (hit) this.entries.delete(id);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const entry: Entry = { expiresAt: now + this.ttlMs, answer: this.lookup(key), keyId: null };
    this.entries.set(id, entry);
    entry.answer.then(
      (p) => (entry.keyId = p?.id ?? null),
      () => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
      },
    );
    return entry.answer;
  }

  forget(keyId: string): void {
    for (const [id, e] of this.entries) if (e.keyId === keyId) this.entries.delete(id);
  }
}
