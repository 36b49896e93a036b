/**
 * The control plane's two shared secrets, made at the scheduler's first start:
 *   <data-dir>/join.token     for workers   (WorkerService)
 *   <data-dir>/control.token  for gateways  (ControlService)
 * Each is a random token (`tfj_` / `tfc_` + 32 random bytes, base64url) written alone on one line,
 * mode 0600, atomically. Only their SHA-256 digests are kept in memory and compared (in constant
 * time), and the digests are persisted in <data-dir>/credentials.json, so the scheduler still
 * starts after an operator copied the token files elsewhere and deleted them.
 *
 * At start, for each token: its digest in credentials.json is used; else the digest of its token
 * file (an operator's own token, or a digests file deleted to rotate); else a new token is made.
 * A token file that disagrees with credentials.json stops the start: the workers given that file
 * would be refused with no clue why. It never logs a token or writes one anywhere but its file.
 * With the PostgreSQL store the digests are kept in the database instead of credentials.json, so
 * a second scheduler on it (another host, an empty data dir) accepts the same tokens and makes none.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isToken } from '../common/grpc-auth.js';
import { errnoCode, nodeStoreFs, writeFileAtomic, type StoreFs } from './store/index.js';

export const CREDENTIAL_KINDS = ['join', 'control'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export const CREDENTIAL_FILES = Object.freeze({ join: 'join.token', control: 'control.token', digests: 'credentials.json' });

const PREFIX: Record<CredentialKind, string> = { join: 'tfj_', control: 'tfc_' };
/** Random bytes in a new token (256 bits). */
const TOKEN_BYTES = 32;
const SECRET_MODE = 0o600;
const DIGESTS_FORMAT = 1;

export interface Credentials {
  /** Paths of the token files (they may have been deleted since). */
  readonly files: Readonly<Record<CredentialKind, string>>;
  /** Tokens made by this start. */
  readonly created: readonly CredentialKind[];
  /** True when `presented` is the token of `kind`; constant time in the token's content. */
  verify(kind: CredentialKind, presented: string): boolean;
}

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

export const digestOf = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export function newToken(kind: CredentialKind): string {
  return PREFIX[kind] + randomBytes(TOKEN_BYTES).toString('base64url');
}

interface DigestsFile {
  format: number;
  algorithm: 'sha256';
  join?: string;
  control?: string;
}

export type Digests = Partial<Record<CredentialKind, Buffer>>;

/** Where the digests are kept: credentials.json in the data dir, or the database (postgres/state-credentials.ts). */
export interface CredentialDigests {
  /** Where they are, for messages. */
  readonly where: string;
  /**
   * Runs `decide` on the stored digests ({} when none) while no other scheduler on the same
   * storage runs it, and stores the digests it answers (null: nothing to store), durably, before
   * resolving: two schedulers starting at once on one database never make two sets of tokens.
   */
  exclusive<T>(decide: (stored: Digests) => Promise<{ store: Record<CredentialKind, Buffer> | null; result: T }>): Promise<T>;
}

async function readOptional(fs: StoreFs, path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw new CredentialsError(`cannot read ${path}: ${errnoCode(err)}`);
  }
}

/** The digests of a credentials document (credentials.json's text, or the database's copy of it). */
export function parseDigests(text: string, where: string): Digests {
  let parsed: DigestsFile;
  try {
    parsed = JSON.parse(text) as DigestsFile;
  } catch {
    throw new CredentialsError(`${where} is not valid JSON; restore it, or delete it to derive it again from the token files`);
  }
  if (!parsed || parsed.format !== DIGESTS_FORMAT || parsed.algorithm !== 'sha256') {
    throw new CredentialsError(`${where} is not a credentials file of format ${DIGESTS_FORMAT} (sha256)`);
  }
  const out: Digests = {};
  for (const kind of CREDENTIAL_KINDS) {
    const hex = parsed[kind];
    if (hex === undefined) continue;
    if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new CredentialsError(`${where}: "${kind}" is not a SHA-256 digest`);
    out[kind] = Buffer.from(hex, 'hex');
  }
  return out;
}

/** The credentials document of `digests`: what credentials.json holds. */
export function digestsText(digests: Record<CredentialKind, Buffer>): string {
  const body: DigestsFile = { format: DIGESTS_FORMAT, algorithm: 'sha256', join: digests.join.toString('hex'), control: digests.control.toString('hex') };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** credentials.json in `dataDir`: one data dir has one scheduler, so reading then writing is exclusive enough. */
export function createFileDigests(dataDir: string, fs: StoreFs = nodeStoreFs): CredentialDigests {
  const where = join(dataDir, CREDENTIAL_FILES.digests);
  return {
    where,
    async exclusive(decide) {
      const text = await readOptional(fs, where);
      const { store, result } = await decide(text === null ? {} : parseDigests(text, where));
      if (store) await writeFileAtomic(where, digestsText(store), { fsync: true, mode: SECRET_MODE, fs });
      return result;
    },
  };
}

/**
 * Loads the scheduler's credentials, creating what is missing: the digests from `opts.digests`
 * (default credentials.json in `dataDir`), the token files in `dataDir`.
 */
export async function loadCredentials(dataDir: string, opts: { fs?: StoreFs; log?: Logger; digests?: CredentialDigests } = {}): Promise<Credentials> {
  const fs = opts.fs ?? nodeStoreFs;
  await fs.mkdir(dataDir, { recursive: true });
  const files = { join: join(dataDir, CREDENTIAL_FILES.join), control: join(dataDir, CREDENTIAL_FILES.control) };
  const store = opts.digests ?? createFileDigests(dataDir, fs);

  const { digests, created } = await store.exclusive(async (stored) => {
    const digests = {} as Record<CredentialKind, Buffer>;
    const created: CredentialKind[] = [];
    let changed = false;
    for (const kind of CREDENTIAL_KINDS) {
      const text = await readOptional(fs, files[kind]);
      const fromFile = text === null ? null : text.trim();
      if (fromFile !== null && !isToken(fromFile)) {
        throw new CredentialsError(`${files[kind]} does not hold a token (32-512 printable characters, no spaces)`);
      }
      const known = stored[kind];
      if (known && fromFile !== null && !timingSafeEqual(known, digestOf(fromFile))) {
        throw new CredentialsError(`${files[kind]} does not match its digest in ${store.where}: put the right token back, or delete both to make a new one`);
      }
      if (known) {
        digests[kind] = known;
        continue;
      }
      changed = true;
      if (fromFile !== null) {
        digests[kind] = digestOf(fromFile);
        continue;
      }
      const token = newToken(kind);
      await writeFileAtomic(files[kind], `${token}\n`, { fsync: true, mode: SECRET_MODE, fs });
      digests[kind] = digestOf(token);
      created.push(kind);
    }
    return { store: changed ? digests : null, result: { digests, created } };
  });
  if (created.length > 0) opts.log?.info({ created: created.map((k) => files[k]) }, 'control-plane tokens created');

  return {
    files,
    created,
    verify(kind, presented) {
      // Both sides are 32-byte digests, so the comparison's time says nothing about the token.
      return timingSafeEqual(digestOf(presented), digests[kind]);
    },
  };
}
