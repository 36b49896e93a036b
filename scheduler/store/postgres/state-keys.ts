/**
 * The API keys on PostgreSQL: the KeyFile interface (key-file.ts) over the `api_keys` table, one
 * row per key holding the same record keys.json holds (the SHA-256 digest of its secret and the
 * secret sealed for SigV4, never the secret), and the master key that seals them in the
 * `scheduler_settings` row `keys.master`. A row `api_keys` in `scheduler_settings` says the keys
 * were made (no key rows may also mean every key was deleted): with neither it and no key row, a
 * start is a first start.
 *
 * admin.key stays a file in --data-dir, written by the scheduler whose first start made it. Two
 * schedulers starting at once on an empty database: the first to take STATE_LOCK writes its
 * admin.key and stores its keys in one transaction; the other waits for it, finds them, adopts
 * them and writes no admin.key. A row that cannot be trusted stops the start, as keys.json does.
 */
import { KeyFileError, HEX64, checkKey, createKeyFile, type KeyFile, type StoredKey } from '../key-file.js';
import type { StoreFs } from '../files/store-fs.js';
import type { PoolClient } from 'pg';
import { randomBytes } from 'node:crypto';
import { STATE_LOCK, type StateDatabase } from './state-db.js';

const WHERE = 'the api_keys table';
const MARK = 'api_keys';
const MASTER = 'keys.master';

type Query = Pick<PoolClient, 'query'>;

async function readKeys(q: Query): Promise<StoredKey[] | null> {
  const marked = await q.query('SELECT 1 FROM scheduler_settings WHERE name = $1', [MARK]);
  const { rows } = await q.query<{ id: string; key: unknown }>('SELECT id, key FROM api_keys ORDER BY created_at, id');
  // Keys without the mark (a restore that left scheduler_settings out) are kept, never replaced.
  if (marked.rowCount === 0 && rows.length === 0) return null;
  const fix = 'fix the row, or delete it (that key is then revoked)';
  return rows.map((r) => {
    const key = (() => {
      try {
        return checkKey(r.key, `${WHERE}, row ${JSON.stringify(r.id.slice(0, 40))}`);
      } catch (err) {
        throw new KeyFileError(`${(err as Error).message}: ${fix}`);
      }
    })();
    if (key.id !== r.id) throw new KeyFileError(`${WHERE}, row ${JSON.stringify(r.id.slice(0, 40))}: its id column is not its record's id: ${fix}`);
    return key;
  });
}

async function writeKeys(q: Query, keys: readonly StoredKey[]): Promise<void> {
  const ids = keys.map((k) => k.id);
  await q.query('DELETE FROM api_keys WHERE NOT (id = ANY($1::text[]))', [ids]);
  if (keys.length > 0) {
    await q.query(
      'INSERT INTO api_keys (id, created_at, key) SELECT * FROM unnest($1::text[], $2::text[], $3::json[]) ' +
        'ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, key = EXCLUDED.key',
      [ids, keys.map((k) => k.createdAt), keys.map((k) => JSON.stringify(k))],
    );
  }
  await q.query(
    `INSERT INTO scheduler_settings (name, value) VALUES ($1, $2::json) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [MARK, JSON.stringify({ format: 1 })],
  );
}

/** `dataDir` is where admin.key goes (the file of key-file.ts); everything else is in `db`. */
export function createPostgresKeyFile(db: StateDatabase, dataDir: string, fs?: StoreFs): KeyFile {
  const adminFile = createKeyFile(dataDir, fs);
  return {
    path: WHERE,
    adminKeyPath: adminFile.adminKeyPath,
    read: () => db.transaction((client) => readKeys(client)),
    write: (keys) => db.transaction((client) => writeKeys(client, keys)),
    writeAdminKey: (key) => adminFile.writeAdminKey(key),
    initialize: (keys, adminKey) =>
      db.transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...STATE_LOCK]);
        const stored = await readKeys(client);
        if (stored !== null) return { keys: stored, created: false };
        // Under the lock and before the COMMIT: if the COMMIT fails, admin.key holds a key that
        // was never stored, and the next start (still a first start) replaces it.
        await adminFile.writeAdminKey(adminKey);
        await writeKeys(client, keys);
        return { keys: [...keys], created: true };
      }),
    async masterKey() {
      // Whoever inserts first wins; everyone reads the winner's.
      const rows = await db.transaction(async (client) => {
        await client.query('INSERT INTO scheduler_settings (name, value) VALUES ($1, $2::json) ON CONFLICT (name) DO NOTHING', [
          MASTER,
          JSON.stringify(randomBytes(32).toString('hex')),
        ]);
        return (await client.query<{ value: unknown }>('SELECT value FROM scheduler_settings WHERE name = $1', [MASTER])).rows;
      });
      const hex = rows[0]?.value;
      if (typeof hex !== 'string' || !HEX64.test(hex))
        throw new KeyFileError(
          `the scheduler_settings row '${MASTER}' is not 64 hex characters: restore it from a backup, or delete it (keys then cannot sign until re-created)`,
        );
      return Buffer.from(hex, 'hex');
    },
  };
}
