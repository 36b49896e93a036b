import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowDefinition, WorkflowRun } from '../../common/workflows.js';
import { newRun } from '../workflows/run-transition.js';
import { createFileStore } from './file-store.js';
import { nodeStoreFs } from './files/store-fs.js';
import { createFaultFs, type FaultFs } from './testing/fault-fs.js';
import type { Store } from './types.js';

const T0 = '2026-01-01T00:00:00.000Z';
const definition = (name: string): WorkflowDefinition => ({ name, steps: [{ id: 'a', function: 'f', needs: [] }], version: 1, createdAt: T0, updatedAt: T0 });
const run = (id: string): WorkflowRun => newRun({ id, workflow: 'w', workflowVersion: 1, spec: definition('w').steps, input: { n: 1 }, nowMs: Date.parse(T0) });

describe('file store: workflows and runs', () => {
  let dataDir: string;
  let fs: FaultFs;
  let store: Store;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-wfstore-'));
    fs = createFaultFs(nodeStoreFs);
    store = createFileStore({ dataDir, fs });
    await store.open();
    await store.loadWorkflows();
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  const reopen = async (): Promise<Awaited<ReturnType<Store['loadWorkflows']>>> => {
    await store.close();
    store = createFileStore({ dataDir });
    await store.open();
    return store.loadWorkflows();
  };

  it('definitions and runs are fsynced files that a reopen loads; a deleted definition is gone', async () => {
    await store.putWorkflow(definition('w'));
    await store.putWorkflow(definition('gone'));
    await store.deleteWorkflow('gone');
    const r = run('wr_1');
    await store.putWorkflowRun(r);
    await store.putWorkflowRun({ ...r, status: 'succeeded' });
    await store.putWorkflowRun(run('wr_pruned'));
    await store.deleteWorkflowRun('wr_pruned');
    expect(fs.count('sync', (p) => p.includes('workflow-runs'))).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(await readFile(join(dataDir, 'workflows', 'w.json'), 'utf8'))).toEqual(definition('w'));
    const loaded = await reopen();
    expect(loaded.workflows).toEqual([definition('w')]);
    expect(loaded.runs).toEqual([{ ...r, status: 'succeeded' }]);
  });

  it('a failed write is STORAGE_UNAVAILABLE, and the previous record stays', async () => {
    const r = run('wr_1');
    await store.putWorkflowRun(r);
    fs.fail({ op: 'writeFile', code: 'ENOSPC', match: (p) => p.includes('workflow-runs') });
    await expect(store.putWorkflowRun({ ...r, status: 'failed' })).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { code: 'ENOSPC' } });
    expect((await reopen()).runs).toEqual([r]);
  });

  it('never builds a path from a bad name or id', async () => {
    await expect(store.putWorkflow(definition('../x'))).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(store.putWorkflowRun(run('../../etc'))).rejects.toMatchObject({ code: 'INVALID_NAME' });
  });

  it('quarantines files that do not parse, do not match their name, or are not records; removes temp leftovers', async () => {
    await store.putWorkflowRun(run('wr_ok'));
    await writeFile(join(dataDir, 'workflow-runs', 'wr_bad.json'), '{ nope');
    await writeFile(join(dataDir, 'workflow-runs', 'wr_other.json'), JSON.stringify(run('wr_different')));
    await writeFile(join(dataDir, 'workflows', 'notes.txt'), 'hi');
    await writeFile(join(dataDir, 'workflows', 'w.json.123.tmp'), 'half');
    const loaded = await reopen();
    expect(loaded.runs.map((r) => r.id)).toEqual(['wr_ok']);
    const quarantined = (await readdir(join(dataDir, 'quarantine'))).sort();
    expect(quarantined.map((f) => f.split('.json')[0]!.replace(/\.txt.*/, '.txt'))).toEqual([
      'workflow-runs.wr_bad',
      'workflow-runs.wr_other',
      'workflows.notes.txt',
    ]);
    expect(await readdir(join(dataDir, 'workflows'))).toEqual([]);
  });
});
