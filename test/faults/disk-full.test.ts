/**
 * Fault: the disk fills up, under a real scheduler, gateway and worker: every file the store
 * creates or writes in its data dir fails with ENOSPC (a fault StoreFs in front of the real one).
 * An invoke whose record cannot be made durable is answered 503 STORAGE_UNAVAILABLE, never 202;
 * nothing is queued or run; nothing is half-written — no temp file is left, and a store reopened
 * on the directory afterwards finds no execution and nothing to quarantine. Once the disk has
 * room again, invokes are accepted and run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type { LoadedState } from '../../scheduler/store/types.js';
import { isTempFileName } from '../../scheduler/store/files/atomic-write.js';
import { createFaultFs, type FaultFs, type FsOp } from '../../scheduler/store/testing/fault-fs.js';
import { createFileStore, nodeStoreFs } from '../../scheduler/store/index.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const SLOW = 'export default async (e) => { await new Promise((r) => setTimeout(r, e?.ms ?? 0)); return "ran" }';

let stack: Stack | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

interface DiskFull {
  s: Stack;
  faults: FaultFs;
  inData: (p: string) => boolean;
  /** Makes every create/write (and, with `partial`, writes half of the data first) fail with ENOSPC. */
  fill(opts?: { partial?: boolean; ops?: FsOp[] }): void;
  /** Closes the stack, then opens a fresh store (real fs) on the data dir: what a restart would load. */
  reopen(): Promise<LoadedState>;
  /** Temp files left anywhere in the data dir. */
  temps(): Promise<string[]>;
}

const ALWAYS = 1_000_000;

async function diskFullStack(): Promise<DiskFull> {
  const dir = await mkdtemp(join(tmpdir(), 'taskforge-diskfull-'));
  dataDir = dir;
  const faults = createFaultFs(nodeStoreFs);
  const store = createFileStore({ dataDir: dir, fs: faults });
  const s = await startStack({ dataDir: dir, workers: 1, scheduler: { store } });
  stack = s;
  await s.request('PUT', '/v1/functions/work', fn(SLOW));
  const inData = (p: string): boolean => p.startsWith(dir + sep);
  return {
    s,
    faults,
    inData,
    fill({ partial = false, ops = ['open', 'writeFile'] as FsOp[] } = {}) {
      for (const op of ops) faults.fail({ op, code: 'ENOSPC', match: inData, times: ALWAYS, partial });
    },
    async reopen() {
      await s.close();
      stack = undefined;
      const fresh = createFileStore({ dataDir: dir });
      const loaded = await fresh.open();
      await fresh.close();
      return loaded;
    },
    async temps() {
      const found: string[] = [];
      for (const sub of await readdir(dir)) {
        const entries = await readdir(join(dir, sub)).catch(() => [] as string[]);
        found.push(...entries.filter(isTempFileName).map((f) => `${sub}/${f}`));
      }
      return found;
    },
  };
}

describe('disk full', () => {
  it('async invoke: 503 STORAGE_UNAVAILABLE, nothing queued or run, nothing on disk; accepted again once there is room', async () => {
    const d = await diskFullStack();
    d.fill();
    for (let i = 0; i < 3; i++) {
      const r = await d.s.request('POST', '/v1/functions/work/invoke', { i });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('STORAGE_UNAVAILABLE');
    }
    expect(d.faults.count('open', d.inData) + d.faults.count('writeFile', d.inData)).toBeGreaterThanOrEqual(3);
    expect((await d.s.request('GET', '/v1/executions?function=work')).body.executions).toEqual([]);
    expect((await d.s.request('GET', '/v1/stats')).body).toMatchObject({ queueDepth: 0, executions: { queued: 0, running: 0, succeeded: 0 } });
    expect(await d.temps()).toEqual([]);

    d.faults.clearFaults();
    const ok = await d.s.request('POST', '/v1/functions/work/invoke', {});
    expect(ok.status).toBe(202);
    expect((await d.s.request('GET', `/v1/executions/${ok.body.executionId}?waitMs=10000`)).body).toMatchObject({ status: 'succeeded', output: 'ran' });

    const loaded = await d.reopen();
    expect(loaded.quarantined).toEqual([]);
    expect(loaded.executions.map((e) => e.id)).toEqual([ok.body.executionId]);
  });

  it('async invoke: 503 when the disk fills mid-write; the half-written data is never loaded', async () => {
    const d = await diskFullStack();
    d.fill({ partial: true, ops: ['writeFile'] });
    const r = await d.s.request('POST', '/v1/functions/work/invoke', { big: 'x'.repeat(10_000) });
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('STORAGE_UNAVAILABLE');
    // The write really started: half of it reached a file before the disk was full.
    expect(d.faults.count('writeFile', d.inData)).toBeGreaterThanOrEqual(1);
    expect(await d.temps()).toEqual([]);
    expect((await d.s.request('GET', '/v1/stats')).body.executions).toMatchObject({ queued: 0, running: 0, succeeded: 0 });
    d.faults.clearFaults();
    const loaded = await d.reopen();
    expect(loaded.quarantined).toEqual([]);
    expect(loaded.executions).toEqual([]);
  });

  it('async invoke: 503 when the fsync fails (the data may not be on disk)', async () => {
    const d = await diskFullStack();
    d.fill({ ops: ['sync'] });
    const r = await d.s.request('POST', '/v1/functions/work/invoke', {});
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('STORAGE_UNAVAILABLE');
    expect(d.faults.count('sync', d.inData)).toBeGreaterThanOrEqual(1);
    expect((await d.s.request('GET', '/v1/stats')).body.executions).toMatchObject({ queued: 0, running: 0, succeeded: 0 });
  });

  it('sync invoke that outlives its wait: not answered 202 with a record that is not on disk', async () => {
    const d = await diskFullStack();
    d.fill();
    const r = await d.s.request('POST', '/v1/functions/work/invoke?mode=sync&waitMs=100', { ms: 1_000 });
    // A 202 hands out an id to poll; with nothing on disk that id is gone after a restart.
    expect(r.status).toBe(503);
    expect(r.body.error?.code).toBe('STORAGE_UNAVAILABLE');
  });
});
