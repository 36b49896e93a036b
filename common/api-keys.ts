/**
 * API keys as the HTTP contract defines them (docs/API.md, "Authentication and keys"): their
 * format, their scopes and the records the API returns. Shared by the scheduler, which makes,
 * stores and checks keys, and the gateway, which refuses a malformed one without asking.
 *
 * Format: `tfk_<id>_<secret>`, id 12 characters [A-Za-z0-9], secret at least 32. Parsing is one
 * bounded regular expression after a length check, so no header value, however long or odd,
 * costs more than a few microseconds. Nothing here ever logs or returns a secret.
 */

export const KEY_SCOPES = ['admin', 'deploy', 'invoke', 'read'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

export const KEY_PREFIX = 'tfk_';
export const KEY_ID_LENGTH = 12;
/** Characters of the secret of a key made here (62^40 ≈ 2^238). */
export const KEY_SECRET_LENGTH = 40;
export const KEY_SECRET_MIN = 32;
/** Longest secret accepted; a longer value is not a key, and is refused before any hashing. */
export const KEY_SECRET_MAX = 128;
export const KEY_MAX_LENGTH = KEY_PREFIX.length + KEY_ID_LENGTH + 1 + KEY_SECRET_MAX;

export const KEY_ID_RE = /^[A-Za-z0-9]{12}$/;
const KEY_RE = /^tfk_([A-Za-z0-9]{12})_([A-Za-z0-9]{32,128})$/;

/** The id and secret of a well-formed key, or null. Says nothing about which part was wrong. */
export function parseApiKey(text: unknown): { id: string; secret: string } | null {
  if (typeof text !== 'string' || text.length > KEY_MAX_LENGTH) return null;
  const m = KEY_RE.exec(text);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export const isKeyId = (id: unknown): id is string => typeof id === 'string' && KEY_ID_RE.test(id);

export const isKeyScope = (s: unknown): s is KeyScope => typeof s === 'string' && (KEY_SCOPES as readonly string[]).includes(s);

export const LIMITS_KEYS = {
  /** Characters of a key's name. */
  nameChars: 100,
  /** Functions one key may be limited to. */
  functions: 100,
  /** Keys a scheduler keeps (the whole set is one file, rewritten on each change). */
  keys: 1000,
} as const;

/** A key as `GET /v1/keys` lists it: never its secret. `functions` null = every function. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: KeyScope[];
  functions: string[] | null;
  createdAt: string;
}

/** `POST /v1/keys`'s answer: the record and, this once, the key itself. */
export interface CreatedApiKey extends ApiKeyInfo {
  key: string;
}

/** Who a request is, once its key has been checked. */
export interface Principal {
  /** The key's id (the rate limit is per id). */
  id: string;
  name: string;
  scopes: readonly KeyScope[];
  /** null: every function. */
  functions: readonly string[] | null;
}
