/**
 * The API keys: made, listed, deleted and checked here, in the scheduler, the one owner of data
 * (gateways ask over ControlService and keep nothing but a 1 s cache).
 *
 * A key is `tfk_<id>_<secret>`, both parts crypto-random; only SHA-256 of the secret is kept,
 * compared with crypto.timingSafeEqual, and an unknown id costs the same digest and comparison
 * as a known one. Answers never say which part of a key was wrong. A change is durable
 * (keys.json fsynced) before it is acknowledged or takes effect, and changes are written one
 * after another, so two concurrent creates never lose one another.
 *
 * It must never log, store or return a secret, except the one `key` in create()'s answer and the
 * admin key made at first start (logged once, written to admin.key with mode 0600).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import type { Logger } from 'pino';
import { TaskForgeError } from '../common/errors.js';
import { isFunctionName } from '../common/names.js';
import {
  KEY_ID_LENGTH,
  KEY_PREFIX,
  KEY_SCOPES,
  KEY_SECRET_LENGTH,
  LIMITS_KEYS,
  isKeyId,
  isKeyScope,
  parseApiKey,
  type ApiKeyInfo,
  type CreatedApiKey,
  type KeyScope,
  type Principal,
} from '../common/api-keys.js';
import { storageUnavailable } from './store/file-store.js';
import type { KeyFile, StoredKey } from './store/key-file.js';

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// nanoid draws from crypto.getRandomValues, without modulo bias.
const newKeyId = customAlphabet(ALNUM, KEY_ID_LENGTH);
const newSecret = customAlphabet(ALNUM, KEY_SECRET_LENGTH);

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
/** Compared against when the id is unknown, so that case costs what a wrong secret costs. */
const NO_SUCH_DIGEST = sha256('no such key');

export interface NewKey {
  name: string;
  scopes: readonly string[];
  /** null: every function. */
  functions: readonly string[] | null;
}

/** `reason` is the details' word (docs/API.md, "Errors"); `why` is said in the message. */
const invalid = (field: string, why: string, reason: string): TaskForgeError =>
  new TaskForgeError('VALIDATION_ERROR', `${field}: ${why}`, { field, reason, errors: [{ field, reason, message: why }] });

// Control characters would let a name forge lines in a log or a terminal.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The scheduler's own check of a new key: any control client gets it, not only the gateway's schema. */
function checkNewKey(k: NewKey): { name: string; scopes: KeyScope[]; functions: string[] | null } {
  if (typeof k.name !== 'string' || k.name.length === 0 || k.name.length > LIMITS_KEYS.nameChars || CONTROL.test(k.name)) {
    throw invalid('name', `must be 1 to ${LIMITS_KEYS.nameChars} characters, without control characters`, 'length');
  }
  if (!Array.isArray(k.scopes) || k.scopes.length === 0) throw invalid('scopes', `must list at least one of ${KEY_SCOPES.join(', ')}`, 'count');
  const scopes: KeyScope[] = [];
  for (const s of k.scopes) {
    if (!isKeyScope(s)) throw invalid('scopes', `must be among ${KEY_SCOPES.join(', ')}`, 'enum');
    if (!scopes.includes(s)) scopes.push(s);
  }
  if (k.functions === null) return { name: k.name, scopes, functions: null };
  if (!Array.isArray(k.functions) || k.functions.length === 0 || k.functions.length > LIMITS_KEYS.functions) {
    throw invalid('functions', `must list 1 to ${LIMITS_KEYS.functions} function names, or be left out for every function`, 'count');
  }
  const functions: string[] = [];
  for (const f of k.functions) {
    if (!isFunctionName(f))
      throw new TaskForgeError('INVALID_NAME', 'invalid function name in functions', {
        field: 'functions',
        reason: 'pattern',
        name: String(f).slice(0, 100),
      });
    if (!functions.includes(f)) functions.push(f);
  }
  return { name: k.name, scopes, functions };
}

const info = (k: StoredKey): ApiKeyInfo => ({
  id: k.id,
  name: k.name,
  scopes: [...k.scopes],
  functions: k.functions && [...k.functions],
  createdAt: k.createdAt,
});

export class KeyRegistry {
  private keys = new Map<string, StoredKey>();
  /** The tail of the chain of writes: each change waits for the one before. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: KeyFile,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Loads the stored keys. On a first start (no key file) makes an admin key, writes it to
   * admin.key and logs it once; a later start never makes another one.
   */
  async open(): Promise<{ createdAdminKey: boolean }> {
    const stored = await this.file.read();
    if (stored !== null) {
      this.keys = new Map(stored.map((k) => [k.id, k]));
      return { createdAdminKey: false };
    }
    const { stored: admin, key } = this.mint({ name: 'admin', scopes: ['admin'], functions: null });
    // admin.key first: if the process dies between the two writes, no key file exists and the
    // next start makes a fresh admin key, instead of keeping one nobody was ever shown.
    await this.file.writeAdminKey(key);
    await this.file.write([admin]);
    this.keys = new Map([[admin.id, admin]]);
    // The secret goes to the 0600 file only, never to the log: logs are shipped and kept elsewhere.
    this.log.info({ keyId: admin.id, file: this.file.adminKeyPath }, 'created the admin API key');
    return { createdAdminKey: true };
  }

  /** The key's principal, or null for anything that is not a current key. */
  authenticate(presented: string): Principal | null {
    const parsed = parseApiKey(presented);
    if (!parsed) return null;
    const stored = this.keys.get(parsed.id);
    const expected = stored ? Buffer.from(stored.secretSha256, 'hex') : NO_SUCH_DIGEST;
    const same = timingSafeEqual(sha256(parsed.secret), expected);
    if (!stored || !same) return null;
    return { id: stored.id, name: stored.name, scopes: [...stored.scopes], functions: stored.functions && [...stored.functions] };
  }

  list(): ApiKeyInfo[] {
    return [...this.keys.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1)).map(info);
  }

  /** Makes a key; it works (and is answered) only once it is durable. */
  async create(k: NewKey): Promise<CreatedApiKey> {
    const checked = checkNewKey(k);
    return this.change(() => {
      if (this.keys.size >= LIMITS_KEYS.keys) {
        // Not a field of the request: the scheduler's bound on keys.
        throw new TaskForgeError('VALIDATION_ERROR', `keys: at most ${LIMITS_KEYS.keys} keys; delete unused ones first`, {
          reason: 'limit',
          limit: LIMITS_KEYS.keys,
        });
      }
      const { stored, key } = this.mint(checked);
      return {
        next: [...this.keys.values(), stored],
        done: () => ({ ...info(stored), key }),
        log: { keyId: stored.id, name: stored.name, scopes: stored.scopes, msg: 'api key created' },
      };
    });
  }

  /** Deletes a key; NOT_FOUND when there is none with this id. */
  delete(id: string): Promise<void> {
    if (!isKeyId(id))
      return Promise.reject(
        new TaskForgeError('INVALID_NAME', 'invalid key id: must be 12 characters [A-Za-z0-9]', { reason: 'pattern', id: String(id).slice(0, 100) }),
      );
    return this.change(() => {
      if (!this.keys.has(id)) throw new TaskForgeError('NOT_FOUND', `key '${id}' does not exist`, { reason: 'not_found', id });
      return { next: [...this.keys.values()].filter((k) => k.id !== id), done: () => undefined, log: { keyId: id, msg: 'api key deleted' } };
    });
  }

  /**
   * Runs one change after the ones before it: `plan` sees the current keys and says the next set;
   * the set is written, and only then replaces the live one.
   */
  private change<T>(plan: () => { next: StoredKey[]; done: () => T; log: Record<string, unknown> & { msg: string } }): Promise<T> {
    const run = this.writes.then(async () => {
      const { next, done, log } = plan();
      try {
        await this.file.write(next);
      } catch (err) {
        throw storageUnavailable(err);
      }
      this.keys = new Map(next.map((k) => [k.id, k]));
      const { msg, ...fields } = log;
      this.log.info(fields, msg);
      return done();
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  private mint(k: { name: string; scopes: KeyScope[]; functions: string[] | null }): { stored: StoredKey; key: string } {
    let id = newKeyId();
    while (this.keys.has(id)) id = newKeyId();
    const secret = newSecret();
    const stored: StoredKey = {
      id,
      name: k.name,
      scopes: k.scopes,
      functions: k.functions,
      createdAt: new Date(this.now()).toISOString(),
      secretSha256: sha256(secret).toString('hex'),
    };
    return { stored, key: `${KEY_PREFIX}${id}_${secret}` };
  }
}
