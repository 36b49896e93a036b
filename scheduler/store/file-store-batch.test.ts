/**
 * putExecutionsDurable: many records in one durable commit — one journal batch under one commit
 * line, so a crash replays all of them or none, and a failed sync acknowledges none.
 */
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
  sampleExecution({ id, input: { id }, createdAt: '2025-01-01T00:00:00.000Z', ...over });

describe('file store: putExecutionsDurable', () => {
  let dataDir: string;
  let fs: FaultFs;
  let store: Store;
  const inJournal = (p: string): boolean => p.startsWith(join(dataDir, 'journal') + '/');
  const journalText = async (): Promise<string> => {
    const dir = join(dataDir, 'journal');
    const texts = await Promise.all((await readdir(dir)).filter((f) => f.endsWith('.log')).map((f) => readFile(join(dir, f), 'utf8')));
    return texts.join('');
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-store-batch-'));
    fs = createFaultFs(nodeStoreFs);
    store = createFileStore({ dataDir, fs, groupCommitMs: 5 });
    await store.open();
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes every record in one journal batch: one sync, one commit line after all of them, in order', async () => {
    fs.calls.length = 0;
    const recs = ['b0', 'b1', 'b2', 'b3'].map((id) => execution(id));
    await store.putExecutionsDurable(recs);
    expect(fs.count('sync', inJournal)).toBe(1);
    const lines = (await journalText()).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { t: string; rec?: { id: string } }).rec?.id ?? (JSON.parse(l) as { t: string }).t)).toEqual([
      'b0',
      'b1',
      'b2',
      'b3',
      'commit',
    ]);
    await store.flush();
    for (const r of recs) expect(JSON.parse(await readFile(join(dataDir, 'executions', `${r.id}.json`), 'utf8'))).toEqual(r);
    // A crash now (no checkpoint): the journal replays them all.
    const again = createFileStore({ dataDir });
    const reopened = await again.open();
    expect(reopened.executions.map((e) => e.id).sort()).toEqual(['b0', 'b1', 'b2', 'b3']);
    await again.close();
  });

  it('a failed journal sync rejects STORAGE_UNAVAILABLE and leaves none of them, also after reopen', async () => {
    fs.fail({ op: 'sync', code: 'EIO', match: inJournal });
    await expect(store.putExecutionsDurable([execution('f0'), execution('f1')])).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { code: 'EIO' },
    });
    await store.flush();
    expect(await readdir(join(dataDir, 'executions'))).toEqual([]);
    const again = createFileStore({ dataDir });
    expect((await again.open()).executions).toEqual([]);
    await again.close();
  });

  it('an empty list is a no-op', async () => {
    fs.calls.length = 0;
    await store.putExecutionsDurable([]);
    expect(fs.count('sync', inJournal)).toBe(0);
  });
});
