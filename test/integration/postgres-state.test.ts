/**
 * The scheduler's own state on PostgreSQL, with real schedulers (startScheduler in this process,
 * real gRPC on port 0) and a real PostgreSQL: two first starts racing on an empty database make
 * one admin key and one pair of tokens, and a scheduler on another host (an empty --data-dir) on
 * the same database accepts the first one's admin key, join token and control token, and makes
 * none of its own.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcControlClient } from '../../gateway/scheduler-client.js';
import { startScheduler, type SchedulerHandle } from '../../scheduler/server.js';
import { FakeWorker, hello } from '../helpers/fake-worker.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

let server: PostgresServer;
const closers: Array<() => Promise<void> | void> = [];
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
afterAll(async () => {
  await server?.close();
});

const newDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'taskforge-pgstate-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

async function scheduler(storeUrl: string, dataDir: string): Promise<{ handle: SchedulerHandle; log: MemoryLog; dataDir: string }> {
  const log = memoryLog();
  const handle = await startScheduler({ port: 0, host: '127.0.0.1', dataDir, storeUrl, heartbeatIntervalMs: 60_000, logger: log.logger });
  closers.push(() => handle.close());
  return { handle, log, dataDir };
}

const secrets = async (dataDir: string) => ({
  admin: (await readFile(join(dataDir, 'admin.key'), 'utf8')).trim(),
  join: (await readFile(join(dataDir, 'join.token'), 'utf8')).trim(),
  control: (await readFile(join(dataDir, 'control.token'), 'utf8')).trim(),
});

/** The scheduler at `address` takes the control token, the admin key and the join token. */
async function accepts(address: string, s: { admin: string; join: string; control: string }): Promise<void> {
  const control = createGrpcControlClient(address, { callTimeoutMs: 5000, controlToken: s.control });
  closers.push(() => control.close());
  expect((await control.authenticate(s.admin))?.scopes).toEqual(['admin']);
  const worker = new FakeWorker(address, { token: s.join });
  closers.push(() => worker.close());
  worker.sendHello(hello(`w_${Math.random().toString(36).slice(2, 8)}`));
  await worker.waitFor('welcome');
}

describe('scheduler state on PostgreSQL, across schedulers', () => {
  it('a second scheduler with an empty --data-dir accepts the first one’s admin key, join token and control token', { timeout: 60_000 }, async () => {
    const url = await server.createDatabase('handover');
    const first = await scheduler(url, await newDir());
    const made = await secrets(first.dataDir);
    const control = createGrpcControlClient(first.handle.address, { callTimeoutMs: 5000, controlToken: made.control });
    const ci = await control.createKey({ name: 'ci', scopes: ['deploy'], functions: null });
    control.close();
    await first.handle.close();

    const second = await scheduler(url, await newDir());
    await accepts(second.handle.address, made);
    const c2 = createGrpcControlClient(second.handle.address, { callTimeoutMs: 5000, controlToken: made.control });
    closers.push(() => c2.close());
    expect((await c2.authenticate(ci.key))?.name).toBe('ci');
    // Nothing of the state is in its data dir, and it made no token and no key.
    expect(await readdir(second.dataDir)).toEqual([]);
    expect(second.log.find((l) => l.msg === 'control-plane tokens created' || l.msg === 'created the admin API key')).toEqual([]);
  });

  it('two schedulers starting at once on an empty database: one leads and makes the secrets, the other takes over with them', { timeout: 60_000 }, async () => {
    const url = await server.createDatabase('startrace');
    const starts = [scheduler(url, await newDir()), scheduler(url, await newDir())];
    // The one that took the lease starts; the other waits as a standby.
    const first = await Promise.race(starts.map((p, i) => p.then(() => i)));
    const winner = await starts[first]!;
    expect(winner.log.find((l) => l.msg === 'created the admin API key')).toHaveLength(1);
    expect(winner.log.find((l) => l.msg === 'control-plane tokens created')).toHaveLength(1);
    const made = await secrets(winner.dataDir);
    await accepts(winner.handle.address, made);
    // A clean stop releases the lease: the standby takes over, makes nothing, and accepts what was made.
    await winner.handle.close();
    const loser = await starts[1 - first]!;
    expect(loser.log.find((l) => l.msg === 'created the admin API key')).toEqual([]);
    expect(loser.log.find((l) => l.msg === 'control-plane tokens created')).toEqual([]);
    expect(await readdir(loser.dataDir)).toEqual([]);
    await accepts(loser.handle.address, made);
  });
});
