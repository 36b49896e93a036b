/**
 * Where API keys live on disk: `<data-dir>/keys.json`, every key in one human-readable file
 * (there are few, and they change rarely), and `<data-dir>/admin.key`, the admin key made at
 * first start, for the operator and `taskforge dev`.
 *
 * Both are written atomically, fsynced, with mode 0600 from the moment they exist. keys.json
 * holds each key's SHA-256 digest of its secret and, for keys that can sign SigV4 requests, the
 * secret sealed under `<data-dir>/keys.master` (0600, made at the first start that lacks it): a
 * copy of keys.json alone lets nobody in; with keys.master it reveals the signing keys.
 * A keys.json that cannot be read or trusted stops the scheduler with a message saying what to do,
 * instead of being replaced: replacing it would silently revoke every key.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isFunctionName } from '../../common/names.js';
import { isKeyId, isKeyScope, type ApiKeyInfo } from '../../common/api-keys.js';
import { isTempFileName, writeFileAtomic } from './files/atomic-write.js';
import { errnoCode, nodeStoreFs, type StoreFs } from './files/store-fs.js';

export const KEYS_FILE = 'keys.json';
export const ADMIN_KEY_FILE = 'admin.key';
/** 32 random bytes, hex: the AES-256-GCM key that seals each key's secret (for SigV4 checks). */
export const MASTER_KEY_FILE = 'keys.master';
/** Owner read/write only. */
export const SECRET_FILE_MODE = 0o600;

/**
 * A key as stored: its record, the hex SHA-256 of its secret and, for keys made since SigV4
 * signing exists, the secret sealed with AES-256-GCM under keys.master (`v1.<iv>.<tag>.<data>`,
 * base64url, the key id as associated data). A key without `secretSealed` cannot sign requests.
 */
export interface StoredKey extends ApiKeyInfo {
  secretSha256: string;
  secretSealed?: string;
}

export interface KeyFile {
  readonly path: string;
  readonly adminKeyPath: string;
  /** The stored keys; null when there is no key file yet (a first start). */
  read(): Promise<StoredKey[] | null>;
  /** Replaces every stored key; resolves once durable. */
  write(keys: readonly StoredKey[]): Promise<void>;
  /** Writes the admin key alone on one line; resolves once durable. */
  writeAdminKey(key: string): Promise<void>;
  /**
   * A first start (read() answered null): writes `adminKey` to admin.key, then stores `keys`,
   * unless another scheduler on the same storage stored its keys first; then neither is written
   * and the keys stored are answered instead (`created: false`). Resolves once durable.
   */
  initialize(keys: readonly StoredKey[], adminKey: string): Promise<{ keys: StoredKey[]; created: boolean }>;
  /** The 32-byte master key of keys.master, made (0600, durable) when there is none yet. */
  masterKey(): Promise<Buffer>;
}

/** Why a keys.json is refused; thrown at start, so the operator sees it before anything runs. */
export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

export const HEX64 = /^[0-9a-f]{64}$/;
const SEALED = /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{1,200}$/;

/** The stored key `value` is, checked field by field; a KeyFileError naming `at` otherwise. */
export function checkKey(value: unknown, at: string): StoredKey {
  const k = value as Partial<StoredKey> | null;
  const bad = (why: string): KeyFileError => new KeyFileError(`${at}: ${why}`);
  if (!k || typeof k !== 'object') throw bad('not an object');
  if (!isKeyId(k.id)) throw bad('id is not 12 characters [A-Za-z0-9]');
  if (typeof k.name !== 'string') throw bad('name is not a string');
  if (!Array.isArray(k.scopes) || k.scopes.length === 0 || !k.scopes.every(isKeyScope)) throw bad('scopes is not a list of admin, deploy, invoke, read');
  if (k.functions !== null && !(Array.isArray(k.functions) && k.functions.every(isFunctionName)))
    throw bad('functions is neither null nor a list of function names');
  if (typeof k.createdAt !== 'string' || Number.isNaN(Date.parse(k.createdAt))) throw bad('createdAt is not a time');
  if (typeof k.secretSha256 !== 'string' || !HEX64.test(k.secretSha256)) throw bad('secretSha256 is not a hex SHA-256 digest');
  if (k.secretSealed !== undefined && (typeof k.secretSealed !== 'string' || !SEALED.test(k.secretSealed)))
    throw bad('secretSealed is not a sealed secret (v1.<iv>.<tag>.<data>)');
  return {
    id: k.id,
    name: k.name,
    scopes: [...k.scopes],
    functions: k.functions === null ? null : [...k.functions],
    createdAt: k.createdAt,
    secretSha256: k.secretSha256,
    ...(k.secretSealed !== undefined ? { secretSealed: k.secretSealed } : {}),
  };
}

export function createKeyFile(dataDir: string, fs: StoreFs = nodeStoreFs): KeyFile {
  const path = join(dataDir, KEYS_FILE);
  const adminKeyPath = join(dataDir, ADMIN_KEY_FILE);
  const masterKeyPath = join(dataDir, MASTER_KEY_FILE);
  const ours = (name: string): boolean => isTempFileName(name) && [KEYS_FILE, ADMIN_KEY_FILE, MASTER_KEY_FILE].some((f) => name.startsWith(`.${f}.`));

  return {
    path,
    adminKeyPath,
    async read() {
      await fs.mkdir(dataDir, { recursive: true });
      // A write that died before its rename leaves a temp file (mode 0600) beside the target.
      for (const name of await fs.readdir(dataDir)) {
        if (ours(name)) await fs.unlink(join(dataDir, name)).catch(() => undefined);
      }
      let text: string;
      try {
        text = await fs.readFile(path, 'utf8');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return null;
        throw new KeyFileError(`${path} cannot be read (${errnoCode(err)})`);
      }
      const fix = `fix it, or remove it to start over with a new admin key (every other key is then revoked)`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new KeyFileError(`${path} is not valid JSON: ${fix}`);
      }
      const keys = (parsed as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys)) throw new KeyFileError(`${path} has no "keys" list: ${fix}`);
      try {
        return keys.map((k, i) => checkKey(k, `keys[${i}]`));
      } catch (err) {
        throw new KeyFileError(`${path} ${(err as Error).message}: ${fix}`);
      }
    },
    async write(keys) {
      const text = `${JSON.stringify({ keys }, null, 2)}\n`;
      await writeFileAtomic(path, text, { fsync: true, fs, mode: SECRET_FILE_MODE });
    },
    async writeAdminKey(key) {
      await writeFileAtomic(adminKeyPath, `${key}\n`, { fsync: true, fs, mode: SECRET_FILE_MODE });
    },
    // One data dir has one scheduler: nobody else can have made keys.json since read().
    // admin.key first: if the process dies between the two writes, no key file exists and the
    // next start makes a fresh admin key, instead of keeping one nobody was ever shown.
    async initialize(keys, adminKey) {
      await this.writeAdminKey(adminKey);
      await this.write(keys);
      return { keys: [...keys], created: true };
    },
    async masterKey() {
      let text: string;
      try {
        text = await fs.readFile(masterKeyPath, 'utf8');
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw new KeyFileError(`${masterKeyPath} cannot be read (${errnoCode(err)})`);
        const key = randomBytes(32);
        await fs.mkdir(dataDir, { recursive: true });
        await writeFileAtomic(masterKeyPath, `${key.toString('hex')}\n`, { fsync: true, fs, mode: SECRET_FILE_MODE });
        return key;
      }
      const hex = text.trim();
      // Replacing it would silently stop every key from signing: refuse instead, like keys.json.
      if (!HEX64.test(hex))
        throw new KeyFileError(`${masterKeyPath} is not 64 hex characters: restore it from a backup, or remove it (keys then cannot sign until re-created)`);
      return Buffer.from(hex, 'hex');
    },
  };
}
