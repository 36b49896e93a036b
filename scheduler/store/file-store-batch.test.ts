import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/records.js';
import { sampleExecution } from '../../common/testing/records.js';
import { createFaultFs, type FaultFs } from './testing/fault-fs.js';
import { createFileStore } from './file-store.js';
import { nodeStoreFs } from './files/store-fs.js';
import type { Store } from './types.js';

const execution = (id: string, over: Partial<Execution> = {}): Execution =>
  sampleExecution({ id, input: { n: id }, createdAt: '2025-01-01T00:00:00.000Z', ...over });

describe('putExecutionsDurable: several records in one commit', () => {
  let dataDir: string;
  let fs: FaultFs;
  let store: Store;
  const inJournal = (p: string): boolean => p.startsWith(join(dataDir, 'journal') + '/');

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-batch-'));
    fs = createFaultFs(nodeStoreFs);
    store = createFileStore({ dataDir, fs, groupCommitMs: 5 });
    await store.open();
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('resolves after one journal sync for all of them, then writes each file', async () => {
    fs.calls.length = 0;
    const batch = ['b1', 'b2', 'b3'].map((id) => execution(id));
    await store.putExecutionsDurable(batch);
    expect(fs.count('sync', inJournal)).toBe(1);
    const segments = await readdir(join(dataDir, 'journal'));
    const text = await readFile(join(dataDir, 'journal', segments[0]!), 'utf8');
    // Three entries and one commit line: they replay together or not at all.
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { t: string }).t),
    ).toEqual(['exec', 'exec', 'exec', 'commit']);
    await store.flush();
    expect((await readdir(join(dataDir, 'executions'))).sort()).toEqual(['b1.json', 'b2.json', 'b3.json']);
  });

  it('survives a reopen without the files (the journal replays them all)', async () => {
    await store.putExecutionsDurable([execution('r1'), execution('r2')]);
    // A second store on the same directory reads the journal, as a restart after kill -9 would.
    const reopened = await createFileStore({ dataDir }).open();
    expect(reopened.executions.map((e) => e.id).sort()).toEqual(['r1', 'r2']);
  });

  it('on a failed journal sync rejects STORAGE_UNAVAILABLE and keeps none of them, also after reopen', async () => {
    fs.fail({ op: 'sync', code: 'EIO', match: inJournal });
    await expect(store.putExecutionsDurable([execution('f1'), execution('f2')])).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { code: 'EIO' },
    });
    await store.flush();
    expect(await readdir(join(dataDir, 'executions'))).toEqual([]);
    const reopened = await createFileStore({ dataDir }).open();
    expect(reopened.executions).toEqual([]);
  });

  it('an empty batch writes nothing', async () => {
    fs.calls.length = 0;
    await store.putExecutionsDurable([]);
    expect(fs.count('sync', inJournal)).toBe(0);
  });
});
