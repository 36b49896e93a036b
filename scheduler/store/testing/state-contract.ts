/**
 * The contract of the scheduler's state beside its records (select-state.ts: API keys, the
 * token digests, cron state, deliveries) as one suite every backend runs: the files in
 * --data-dir and the PostgreSQL tables behave the same to the scheduler. "The same storage"
 * is the data dir for the files and the database for PostgreSQL; each test gets fresh storage.
 *
 * Test scaffolding (vitest): never imported by product code.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseApiKey } from '../../../common/api-keys.js';
import { memoryLog } from '../../../test/helpers/memory-log.js';
import { CredentialsError, loadCredentials } from '../../credentials.js';
import type { Delivery } from '../../delivery/types.js';
import { KeyRegistry } from '../../key-registry.js';
import type { SchedulerStateStores } from '../select-state.js';

export interface StateBackend {
  /** The state of one scheduler whose --data-dir is `dataDir`, on this test's storage. */
  open(dataDir: string): Promise<SchedulerStateStores>;
  /** Everything stored about keys, as text, read around the stores (for "no secret at rest"). */
  keysAtRest(dataDir: string): Promise<string>;
  /** Removes the storage. */
  dispose(): Promise<void>;
}

export const sampleDelivery = (executionId: string, over: Partial<Delivery> = {}): Delivery => ({
  id: `dlv_${executionId}`,
  executionId,
  function: 'f',
  version: 1,
  on: 'success',
  destination: { url: 'https://example.com/' },
  status: 'pending',
  attempts: [],
  maxAttempts: 8,
  nextAttemptAt: '2026-01-01T00:00:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
  finishedAt: null,
  createdExecutionId: null,
  ...over,
});

export function stateContract(name: string, make: () => Promise<StateBackend>): void {
  describe(`${name}: scheduler state contract`, () => {
    let backend: StateBackend;
    let dir: string;
    const opened: SchedulerStateStores[] = [];
    const open = async (dataDir = dir): Promise<SchedulerStateStores> => {
      const s = await backend.open(dataDir);
      opened.push(s);
      return s;
    };
    const registry = async (dataDir = dir) => {
      const log = memoryLog();
      const keys = new KeyRegistry((await open(dataDir)).keys, log.logger);
      return { keys, log, opened: await keys.open() };
    };
    beforeEach(async () => {
      backend = await make();
      dir = await mkdtemp(join(tmpdir(), 'taskforge-state-'));
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await backend.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it('keys: a first start makes one admin key (admin.key), a restart makes none and accepts it', async () => {
      const first = await registry();
      expect(first.opened.createdAdminKey).toBe(true);
      const admin = (await readFile(join(dir, 'admin.key'), 'utf8')).trim();
      expect(first.keys.authenticate(admin)?.scopes).toEqual(['admin']);
      const again = await registry();
      expect(again.opened.createdAdminKey).toBe(false);
      expect(again.log.find((l) => l.msg === 'created the admin API key')).toEqual([]);
      expect(again.keys.authenticate(admin)?.name).toBe('admin');
      expect((await readFile(join(dir, 'admin.key'), 'utf8')).trim()).toBe(admin);
    });

    it('keys: creates and deletes, also concurrent ones, are durable and survive a restart; no secret is stored', async () => {
      const { keys } = await registry();
      const made = await Promise.all(
        Array.from({ length: 6 }, (_, i) => keys.create({ name: `k${i}`, scopes: ['invoke'], functions: i === 0 ? ['a'] : null })),
      );
      await Promise.all(made.slice(1, 3).map((k) => keys.delete(k.id)));
      const restarted = (await registry()).keys;
      expect(restarted.list().map((k) => k.name)).toEqual(['admin', 'k0', 'k3', 'k4', 'k5']);
      expect(restarted.authenticate(made[0]!.key)).toEqual({ id: made[0]!.id, name: 'k0', scopes: ['invoke'], functions: ['a'] });
      expect(restarted.authenticate(made[1]!.key)).toBeNull();
      const atRest = await backend.keysAtRest(dir);
      for (const { key } of made) {
        const { id, secret } = parseApiKey(key)!;
        expect(atRest).not.toContain(secret);
        if (id !== made[1]!.id && id !== made[2]!.id) expect(atRest).toContain(createHash('sha256').update(secret).digest('hex'));
      }
      expect(atRest).toMatch(/"secretSealed": ?"v1\./);
    });

    it('keys: a key deleted down to none stays deleted: the next start is not a first start', async () => {
      const { keys } = await registry();
      await keys.delete(keys.list()[0]!.id);
      const again = await registry();
      expect(again.opened.createdAdminKey).toBe(false);
      expect(again.keys.list()).toEqual([]);
    });

    it('credentials: a first start makes both tokens; a restart makes none and accepts the same tokens', async () => {
      const first = await loadCredentials(dir, { digests: (await open()).digests });
      expect(first.created).toEqual(['join', 'control']);
      const join_ = (await readFile(first.files.join, 'utf8')).trim();
      const control = (await readFile(first.files.control, 'utf8')).trim();
      const again = await loadCredentials(dir, { digests: (await open()).digests });
      expect(again.created).toEqual([]);
      expect(again.verify('join', join_) && again.verify('control', control)).toBe(true);
      expect(again.verify('join', control)).toBe(false);
      expect((await readFile(first.files.join, 'utf8')).trim()).toBe(join_);
    });

    it('credentials: a token file that disagrees with the stored digest stops the start', async () => {
      await loadCredentials(dir, { digests: (await open()).digests });
      await writeFile(join(dir, 'join.token'), `tfj_${'x'.repeat(43)}\n`);
      await expect(loadCredentials(dir, { digests: (await open()).digests })).rejects.toThrow(CredentialsError);
      await expect(loadCredentials(dir, { digests: (await open()).digests })).rejects.toThrow(/does not match its digest in/);
    });

    it('cron state: empty at first, replaced whole by each write, durable', async () => {
      const cron = (await open()).cron;
      expect((await cron.read()).size).toBe(0);
      const at = Date.parse('2026-03-01T10:00:00.000Z');
      await cron.write(
        new Map([
          ['tick:0123456789abcdef', { function: 'tick', afterMs: at }],
          ['tock:0123456789abcdef', { function: 'tock', afterMs: at + 1 }],
        ]),
      );
      await cron.write(new Map([['tick:0123456789abcdef', { function: 'tick', afterMs: at + 60_000 }]]));
      expect([...(await (await open()).cron.read())]).toEqual([['tick:0123456789abcdef', { function: 'tick', afterMs: at + 60_000 }]]);
      await cron.write(new Map());
      expect((await (await open()).cron.read()).size).toBe(0);
    });

    it('deliveries: put, replace, load, delete (twice), and a delivering one loads as pending', async () => {
      const s = (await open()).deliveries;
      expect(await s.load()).toEqual({ deliveries: [], quarantined: [] });
      await s.put(sampleDelivery('ex_1'));
      await s.put(sampleDelivery('ex_1', { status: 'delivered', nextAttemptAt: null }));
      await s.put(sampleDelivery('ex_2', { status: 'delivering' }));
      const loaded = (await (await open()).deliveries.load()).deliveries.sort((a, b) => (a.executionId < b.executionId ? -1 : 1));
      expect(loaded).toEqual([sampleDelivery('ex_1', { status: 'delivered', nextAttemptAt: null }), sampleDelivery('ex_2')]);
      await s.delete('ex_1');
      await s.delete('ex_1');
      expect((await s.load()).deliveries.map((d) => d.executionId)).toEqual(['ex_2']);
    });
  });
}
