import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/logger.js';
import { memoryLog } from '../../../test/helpers/memory-log.js';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres.js';
import { CredentialsError, loadCredentials } from '../../credentials.js';
import { KeyRegistry } from '../../key-registry.js';
import { KeyFileError } from '../key-file.js';
import { createStateAt, type SchedulerStateStores } from '../select-state.js';
import { sampleDelivery } from '../testing/state-contract.js';

let server: PostgresServer;
const opened: SchedulerStateStores[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
afterAll(async () => {
  await server?.close();
});

const db = (url: string): string => new URL(url).pathname.slice(1);
const newDir = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'taskforge-pgstate-'));
  dirs.push(d);
  return d;
};
const state = async (url: string, dataDir: string, log = silentLogger): Promise<SchedulerStateStores> => {
  const s = await createStateAt({ kind: 'postgres', url }, dataDir, log);
  opened.push(s);
  return s;
};
/** What a scheduler's start does with its state: keys first, then the token digests. */
const start = async (url: string, dataDir: string) => {
  const s = await state(url, dataDir);
  const keys = new KeyRegistry(s.keys, silentLogger);
  const { createdAdminKey, credentials } = await s.exclusiveStart(async () => ({
    ...(await keys.open()),
    credentials: await loadCredentials(dataDir, { digests: s.digests }),
  }));
  return { keys, createdAdminKey, credentials, files: (await readdir(dataDir)).sort() };
};

describe('scheduler state on PostgreSQL: several schedulers, one database', () => {
  it('two first starts racing on an empty database make one admin key and one pair of tokens; the other adopts them', async () => {
    for (let round = 0; round < 3; round++) {
      const url = await server.createDatabase('race');
      const [a, b] = await Promise.all([start(url, await newDir()), start(url, await newDir())]);
      const [winner, loser] = a.createdAdminKey ? [a, b] : [b, a];
      expect([a.createdAdminKey, b.createdAdminKey].sort()).toEqual([false, true]);
      expect(winner.files).toEqual(['admin.key', 'control.token', 'join.token']);
      expect(winner.credentials.created).toEqual(['join', 'control']);
      expect(loser.credentials.created).toEqual([]);
      // The loser wrote nothing into its data dir: no admin.key, no token files.
      expect(loser.files).toEqual([]);
      const dir = dirname(winner.credentials.files.join);
      const admin = (await readFile(join(dir, 'admin.key'), 'utf8')).trim();
      const joinToken = (await readFile(winner.credentials.files.join, 'utf8')).trim();
      const controlToken = (await readFile(winner.credentials.files.control, 'utf8')).trim();
      for (const s of [winner, loser]) {
        expect(s.keys.authenticate(admin)?.scopes).toEqual(['admin']);
        expect(s.keys.list()).toHaveLength(1);
        expect(s.credentials.verify('join', joinToken) && s.credentials.verify('control', controlToken)).toBe(true);
      }
      const rows = await server.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys', [], db(url));
      expect(rows[0]!.n).toBe(1);
      for (const s of opened.splice(0)) await s.close();
    }
  });

  it('a scheduler on another host (an empty data dir) accepts the keys and tokens and writes no file', async () => {
    const url = await server.createDatabase('second');
    const first = await start(url, await newDir());
    const made = await first.keys.create({ name: 'ci', scopes: ['deploy'], functions: null });
    const second = await start(url, await newDir());
    expect(second.createdAdminKey).toBe(false);
    expect(second.credentials.created).toEqual([]);
    expect(second.files).toEqual([]);
    expect(second.keys.authenticate(made.key)?.name).toBe('ci');
  });
});

describe('scheduler state on PostgreSQL: a restore without scheduler_settings', () => {
  it('keeps the keys (a restart is not a first start); only the master key and the token digests are made again', async () => {
    const url = await server.createDatabase('restore');
    const dir = await newDir();
    const first = await start(url, dir);
    const made = await first.keys.create({ name: 'ci', scopes: ['deploy'], functions: null });
    for (const s of opened.splice(0)) await s.close();
    await server.query('DELETE FROM scheduler_settings', [], db(url));
    const again = await start(url, dir);
    expect(again.createdAdminKey).toBe(false);
    expect(again.keys.authenticate(made.key)?.name).toBe('ci');
    // The token files are still in this data dir: their digests are taken, no new token is made.
    expect(again.credentials.created).toEqual([]);
    expect(again.credentials.verify('join', (await readFile(join(dir, 'join.token'), 'utf8')).trim())).toBe(true);
  });
});

describe('scheduler state on PostgreSQL: failures', () => {
  it('a database nobody listens on: STORAGE_UNAVAILABLE with the errno', async () => {
    await expect(createStateAt({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:1/none' }, await newDir(), silentLogger)).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { reason: 'storage', code: 'ECONNREFUSED' },
    });
  });

  it('the start lock: a start that throws passes its error on and releases the lock; a database gone is STORAGE_UNAVAILABLE', async () => {
    const url = await server.createDatabase('startlock');
    const a = await state(url, await newDir());
    const b = await state(url, await newDir());
    const refusal = new KeyFileError('refused');
    await expect(a.exclusiveStart(() => Promise.reject(refusal))).rejects.toBe(refusal);
    // Released: another scheduler gets it at once.
    await expect(b.exclusiveStart(() => Promise.resolve('ran'))).resolves.toBe('ran');
    await server.stop();
    try {
      let ran = false;
      const err = await a
        .exclusiveStart(() => {
          ran = true;
          return Promise.resolve();
        })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      expect(ran).toBe(false);
      // And every other write of the state, a transaction or one statement, alike.
      for (let i = 0; i < 3; i++) await expect(a.cron.write(new Map())).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      await expect(b.deliveries.put(sampleDelivery('ex_1'))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      await expect(b.keys.write([])).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    } finally {
      await server.start();
    }
  });

  it('a migration that fails (a table of that name exists): STORAGE_UNAVAILABLE with the SQLSTATE, nothing applied', async () => {
    const url = await server.createDatabase('clash');
    await server.query('CREATE TABLE deliveries (x int)', [], db(url));
    await expect(createStateAt({ kind: 'postgres', url }, await newDir(), silentLogger)).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { code: '42P07' },
    });
    expect(await server.query("SELECT 1 FROM pg_tables WHERE tablename = 'api_keys'", [], db(url))).toEqual([]);
  });

  it('an admin.key that cannot be written stores no key: the next start is still a first start', async () => {
    const url = await server.createDatabase('adminfail');
    const notADir = join(await newDir(), 'file');
    await writeFile(notADir, 'x');
    const s = await state(url, notADir);
    await expect(new KeyRegistry(s.keys, silentLogger).open()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { code: 'ENOTDIR' } });
    expect(await server.query('SELECT id FROM api_keys', [], db(url))).toEqual([]);
    expect((await start(url, await newDir())).createdAdminKey).toBe(true);
  });

  it('a key row, a master key or a credentials row that cannot be trusted stops the start, naming it; the rows are left', async () => {
    const url = await server.createDatabase('badrows');
    const dir = await newDir();
    const { keys } = await start(url, dir);
    const id = keys.list()[0]!.id;
    await server.query(`UPDATE api_keys SET key = '{"id":"short"}'`, [], db(url));
    await expect(new KeyRegistry((await state(url, dir)).keys, silentLogger).open()).rejects.toThrow(/api_keys table, row .*id is not 12 characters/);
    await server.query(
      `UPDATE api_keys SET id = 'AAAAAAAAAAAA', key = $1::json`,
      [JSON.stringify({ ...keys.list()[0], secretSha256: '0'.repeat(64) })],
      db(url),
    );
    await expect(new KeyRegistry((await state(url, dir)).keys, silentLogger).open()).rejects.toThrow(/its id column is not its record's id/);
    expect(await server.query('SELECT id FROM api_keys', [], db(url))).toEqual([{ id: 'AAAAAAAAAAAA' }]);
    expect(id).not.toBe('AAAAAAAAAAAA');
    await server.query(`UPDATE scheduler_settings SET value = '"garbage"' WHERE name = 'keys.master'`, [], db(url));
    await expect((await state(url, dir)).keys.masterKey()).rejects.toThrow(KeyFileError);
    await server.query(`UPDATE scheduler_settings SET value = '{"format":1,"algorithm":"sha256","join":"zz"}' WHERE name = 'credentials'`, [], db(url));
    const err = await loadCredentials(dir, { digests: (await state(url, dir)).digests }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as Error).message).toMatch(/scheduler_settings row 'credentials': "join" is not a SHA-256 digest/);
  });

  it('a key change the database refuses is STORAGE_UNAVAILABLE and never takes effect', async () => {
    const url = await server.createDatabase('keyfail');
    const { keys } = await start(url, await newDir());
    await server.query('ALTER TABLE api_keys RENAME TO api_keys_gone', [], db(url));
    await expect(keys.create({ name: 'x', scopes: ['read'], functions: null })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { code: '42P01' },
    });
    expect(keys.list().map((k) => k.name)).toEqual(['admin']);
    await server.query('ALTER TABLE api_keys_gone RENAME TO api_keys', [], db(url));
    await expect(keys.create({ name: 'y', scopes: ['read'], functions: null })).resolves.toMatchObject({ name: 'y' });
  });

  it('cron state: unreadable counts from now (and says so); a refused write rejects and leaves the previous state', async () => {
    const url = await server.createDatabase('cronfail');
    const log = memoryLog();
    const { cron } = await state(url, await newDir(), log.logger);
    await cron.write(new Map([['a:0123456789abcdef', { function: 'a', afterMs: 1000 }]]));
    // A row of the wrong shape is skipped, as a wrong entry of cron-state.json is.
    await server.query(`INSERT INTO cron_state VALUES ('../x', 'x', now())`, [], db(url));
    expect([...(await cron.read()).keys()]).toEqual(['a:0123456789abcdef']);
    await server.query('ALTER TABLE cron_state RENAME TO cron_gone', [], db(url));
    expect((await cron.read()).size).toBe(0);
    expect(log.find((l) => l.msg === 'cron state unreadable: triggers count from now')).toHaveLength(1);
    await expect(cron.write(new Map())).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { code: '42P01' } });
    await server.query('ALTER TABLE cron_gone RENAME TO cron_state', [], db(url));
    expect((await cron.read()).get('a:0123456789abcdef')).toEqual({ function: 'a', afterMs: 1000 });
  });

  it('deliveries: a row that is not a delivery is named and left; a refused write and a bad id reject', async () => {
    const url = await server.createDatabase('dlvfail');
    const { deliveries } = await state(url, await newDir());
    await deliveries.put(sampleDelivery('ex_1'));
    await server.query(
      `INSERT INTO deliveries VALUES ('ex_bad', 'pending', '{"hello":1}'), ('ex_other', 'pending', $1::json)`,
      [JSON.stringify(sampleDelivery('ex_3'))],
      db(url),
    );
    const loaded = await deliveries.load();
    expect(loaded.deliveries.map((d) => d.executionId)).toEqual(['ex_1']);
    expect(loaded.quarantined).toEqual(['deliveries-ex_bad', 'deliveries-ex_other']);
    expect(await server.query('SELECT execution_id FROM deliveries ORDER BY 1', [], db(url))).toHaveLength(3);
    await expect(deliveries.put(sampleDelivery('../etc'))).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(deliveries.delete('../etc')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await server.query('ALTER TABLE deliveries RENAME TO deliveries_gone', [], db(url));
    await expect(deliveries.put(sampleDelivery('ex_2'))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { code: '42P01' } });
    await expect(deliveries.load()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });
});
