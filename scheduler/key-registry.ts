/**
 * The API keys: made, listed, deleted and checked here, in the scheduler, the one owner of data
 * (gateways ask over ControlService and keep nothing but a 1 s cache).
 *
 * A key is `tfk_<id>_<secret>`, both parts crypto-random; SHA-256 of the secret is kept and
 * compared with crypto.timingSafeEqual (a new key's secret is also kept sealed with AES-256-GCM
 * under keys.master, for SigV4 checks only: verifySignature), and an unknown id costs the same digest and comparison
 * as a known one. Answers never say which part of a key was wrong. A change is durable
 * (keys.json fsynced, or its row committed with PostgreSQL) before it is acknowledged or takes effect, and changes are written one
 * after another, so two concurrent creates never lose one another.
 *
 * It must never log, store or return a secret, except the one `key` in create()'s answer and the
 * admin key made at first start (written to admin.key with mode 0600; the log gets its id only).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { customAlphabet } from 'nanoid';
import type { Logger } from 'pino';
import { TaskForgeError } from '../common/errors.js';
import { SIGV4_WINDOW_MS, type SignatureRefusal, type SignedRequest } from '../common/sigv4.js';
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

/** node:crypto as the Hash the signer takes (an HMAC when given a secret). */
class NodeSha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h =
      secret === undefined
        ? createHash('sha256')
        : createHmac(
            'sha256',
            typeof secret === 'string'
              ? secret
              : ArrayBuffer.isView(secret)
                ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
                : new Uint8Array(secret),
          );
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SCOPE = /^(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,32})\/aws4_request$/;

/** Epoch ms of an x-amz-date, or NaN. */
export function parseAmzDate(text: string): number {
  const m = AMZ_DATE.exec(text);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

const b64 = (b: Buffer): string => b.toString('base64url');

/** AES-256-GCM with the key id as associated data: a sealed secret moved to another key does not open. */
function seal(master: Buffer, id: string, secret: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', master, iv);
  c.setAAD(Buffer.from(id, 'utf8'));
  const data = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
  return `v1.${b64(iv)}.${b64(c.getAuthTag())}.${b64(data)}`;
}

function unseal(master: Buffer, id: string, sealed: string): string | null {
  const [v, iv, tag, data] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || !data) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', master, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(id, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8');
  } catch {
    return null;
  }
}

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
  /** keys.master's key, once open() has run. */
  private master: Buffer | null = null;
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
    this.master = await this.file.masterKey();
    if (stored !== null) {
      this.keys = new Map(stored.map((k) => [k.id, k]));
      return { createdAdminKey: false };
    }
    const { stored: admin, key } = this.mint({ name: 'admin', scopes: ['admin'], functions: null });
    // Another scheduler on the same database may have made its admin key first: then that one's
    // keys are taken, and this start writes no admin.key.
    const first = await this.file.initialize([admin], key);
    this.keys = new Map(first.keys.map((k) => [k.id, k]));
    if (!first.created) return { createdAdminKey: false };
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

  /**
   * Checks a SigV4 signature by signing the same request again with the key's own secret
   * (@smithy/signature-v4, the AWS SDK's signer) and comparing in constant time.
   * The principal, or why not: never which of id and secret was wrong.
   */
  async verifySignature(r: SignedRequest): Promise<{ principal: Principal } | { refused: SignatureRefusal }> {
    const at = parseAmzDate(r.amzDate);
    if (!Number.isFinite(at) || Math.abs(this.now() - at) > SIGV4_WINDOW_MS) return { refused: 'expired' };
    const scope = SCOPE.exec(r.credentialScope);
    if (!scope || scope[1] !== r.amzDate.slice(0, 8)) return { refused: 'signature' };
    const id = r.accessKeyId.startsWith(KEY_PREFIX) ? r.accessKeyId.slice(KEY_PREFIX.length) : '';
    const stored = isKeyId(id) ? this.keys.get(id) : undefined;
    if (stored && stored.secretSealed === undefined) return { refused: 'no_signing_secret' };
    // An unknown id is signed with a made-up secret: it costs what a wrong signature costs.
    const secret = (stored && this.master && unseal(this.master, stored.id, stored.secretSealed!)) ?? 'x'.repeat(KEY_SECRET_LENGTH);
    const signed = r.signedHeaders.split(';');
    if (!signed.includes('host') || signed.some((h) => r.headers[h] === undefined)) return { refused: 'signature' };
    const headers: Record<string, string> = {};
    for (const h of signed) headers[h] = r.headers[h]!;
    // The gateway's hash of the body it got: the signer takes it from this header.
    const unsignable = new Set<string>();
    if (!signed.includes('x-amz-content-sha256')) unsignable.add('x-amz-content-sha256');
    headers['x-amz-content-sha256'] = r.payloadHash;
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(r.query)) {
      const had = query[k];
      query[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    const signer = new SignatureV4({
      service: scope[3]!,
      region: scope[2]!,
      credentials: { accessKeyId: r.accessKeyId, secretAccessKey: secret },
      sha256: NodeSha256,
      applyChecksum: false,
    });
    let expected: string;
    try {
      const out = await signer.sign(
        { method: r.method, protocol: 'http:', hostname: headers.host ?? '', path: r.path, query, headers },
        { signingDate: new Date(at), unsignableHeaders: unsignable },
      );
      const auth = String(out.headers.authorization ?? '');
      expected = /Signature=([0-9a-f]{64})$/.exec(auth)?.[1] ?? '';
      if (!auth.includes(`SignedHeaders=${r.signedHeaders},`)) expected = '';
    } catch {
      expected = '';
    }
    const a = Buffer.from(expected.padEnd(64, '0'), 'utf8');
    const b = Buffer.from(r.signature.padEnd(64, '0').slice(0, 64), 'utf8');
    const same = timingSafeEqual(a, b) && expected.length === 64 && r.signature.length === 64;
    if (!stored || !same) return { refused: 'signature' };
    return { principal: { id: stored.id, name: stored.name, scopes: [...stored.scopes], functions: stored.functions && [...stored.functions] } };
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
      ...(this.master ? { secretSealed: seal(this.master, id, secret) } : {}),
    };
    return { stored, key: `${KEY_PREFIX}${id}_${secret}` };
  }
}
