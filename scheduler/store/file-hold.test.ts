/**
 * Held files (record-writer.ts): the file of an execution not yet terminal waits up to
 * fileHoldMs for a newer copy, so an execution that ends within that time is written once. What
 * must hold: the journal still has every change at once, a held copy is written when its time
 * is up or when anyone flushes, and a newer copy always wins.
 *
 * The hold is timed by a clock the test moves; the group-commit timer runs for real (5 ms), and
 * a terminal record of another execution, written by the same timer flush, shows that a flush
 * has happened without a held file in it.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Execution } from '../../common/records.js';
import { sampleExecution } from '../../common/testing/records.js';
import { createFaultFs, type FaultFs } from './testing/fault-fs.js';
import { createFileStore } from './file-store.js';
import { nodeStoreFs } from './files/store-fs.js';
import type { Store } from './types.js';

const HOLD_MS = 2_000;

const execution = (id: string, over: Partial<Execution> = {}): Execution =>
  sampleExecution({ id, input: { n: 1 }, attempt: 0, createdAt: '2025-01-01T00:00:00.000Z', ...over });

describe('held execution files', () => {
  let dataDir: string;
  let fs: FaultFs;
  let store: Store;
  let clock = 0;
  let marks = 0;
  const execDir = (): string => join(dataDir, 'executions');
  const files = async (): Promise<string[]> => (await readdir(execDir())).filter((f) => !f.startsWith('mark')).sort();
  /** Renames of a temp file into `<id>.json` (the fault fs records a rename by its source). */
  const isTempOf = (id: string) => (p: string) => p.startsWith(join(execDir(), `.${id}.json.`));
  const readRecord = async (id: string): Promise<Execution> => JSON.parse(await readFile(join(execDir(), `${id}.json`), 'utf8')) as Execution;
  const journalText = async (): Promise<string> => {
    const dir = join(dataDir, 'journal');
    let text = '';
    for (const f of await readdir(dir)) text += await readFile(join(dir, f), 'utf8');
    return text;
  };
  /** Resolves once a timer flush has run after the call: its own terminal record is in its file. */
  async function timerFlush(): Promise<void> {
    const id = `mark${++marks}`;
    store.putExecution(execution(id, { status: 'succeeded' }));
    await vi.waitFor(async () => expect(await readdir(execDir())).toContain(`${id}.json`), { timeout: 5_000, interval: 5 });
  }

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-hold-'));
    fs = createFaultFs(nodeStoreFs);
    clock = 1_000_000;
    store = createFileStore({ dataDir, fs, groupCommitMs: 5, fileHoldMs: HOLD_MS, now: () => clock });
    await store.open();
  });

  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes an execution that ends within the hold once, with its final state, and journals every change at once', async () => {
    await store.putExecutionDurable(execution('e1', { status: 'queued' }));
    store.putExecution(execution('e1', { status: 'running' }));
    clock += HOLD_MS - 1;
    await timerFlush();
    // Durable in the journal, not in a file yet.
    expect(await files()).toEqual([]);
    expect(await journalText()).toContain('"status":"queued"');
    await store.putExecutionDurable(execution('e1', { status: 'succeeded' }));
    await timerFlush();
    expect((await readRecord('e1')).status).toBe('succeeded');
    expect(fs.count('rename', isTempOf('e1'))).toBe(1);
    expect(await journalText()).toContain('"status":"running"');
  });

  it('writes an execution still in progress once its hold is up, without anyone flushing', async () => {
    store.putExecution(execution('e1', { status: 'running' }));
    await timerFlush();
    expect(await files()).toEqual([]);
    clock += HOLD_MS;
    await vi.waitFor(async () => expect(await files()).toEqual(['e1.json']), { timeout: 5_000, interval: 5 });
    expect((await readRecord('e1')).status).toBe('running');
  });

  it('times the hold from the first held copy, so a record that keeps changing is still written', async () => {
    store.putExecution(execution('e1', { status: 'running', attempt: 1 }));
    clock += HOLD_MS - 1;
    store.putExecution(execution('e1', { status: 'running', attempt: 2 }));
    await timerFlush();
    expect(await files()).toEqual([]);
    clock += 1;
    await timerFlush();
    expect((await readRecord('e1')).attempt).toBe(2);
  });

  it('writes held copies at once on flush(), as a checkpoint or close needs', async () => {
    store.putExecution(execution('e1', { status: 'running' }));
    await store.putExecutionsDurable([execution('e2', { status: 'queued' }), execution('e3', { status: 'queued' })]);
    await store.flush();
    expect(await files()).toEqual(['e1.json', 'e2.json', 'e3.json']);
  });

  it('drops a held copy when its execution is deleted', async () => {
    store.putExecution(execution('e1', { status: 'running' }));
    await store.deleteExecution('e1');
    clock += HOLD_MS;
    await timerFlush();
    await store.flush();
    expect(await files()).toEqual([]);
  });

  it('never writes a held copy over a newer terminal one', async () => {
    store.putExecution(execution('e1', { status: 'running' }));
    store.putExecution(execution('e1', { status: 'failed' }));
    clock += HOLD_MS;
    await timerFlush();
    await store.flush();
    expect((await readRecord('e1')).status).toBe('failed');
    expect(fs.count('rename', isTempOf('e1'))).toBe(1);
  });
});
