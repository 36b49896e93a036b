import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskForgeError } from '../../common/errors.js';
import { OptionsError } from '../../common/options-error.js';
import type { Execution, ExecutionLogs } from '../../common/records.js';
import { createFaultFs, type FaultFs } from './testing/fault-fs.js';
import { createFileStore, resolveFileStoreOptions } from './file-store.js';
import { nodeStoreFs, type StoreFs } from './files/store-fs.js';
import type { Store } from './types.js';
import { sampleExecution } from '../../common/testing/records.js';

const execution = (id: string, over: Partial<Execution> = {}): Execution =>
  sampleExecution({ id, input: { n: 1 }, attempt: 0, createdAt: '2025-01-01T00:00:00.000Z', ...over });

const logsOf = (id: string, message = 'hi'): ExecutionLogs => ({
  executionId: id,
  lines: [{ ts: '2025-01-01T00:00:00.000Z', stream: 'stdout', message }],
  truncated: false,
});

describe('file store writes', () => {
  let dataDir: string;
  let fs: FaultFs;
  let store: Store;
  const execDir = (): string => join(dataDir, 'executions');
  const readJson = async (rel: string): Promise<unknown> => JSON.parse(await readFile(join(dataDir, rel), 'utf8'));
  const inExecDir = (p: string): boolean => p.startsWith(execDir() + '/');
  const inJournal = (p: string): boolean => p.startsWith(join(dataDir, 'journal') + '/');

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-store-'));
    fs = createFaultFs(nodeStoreFs);
    store = createFileStore({ dataDir, fs, groupCommitMs: 5 });
    await store.open();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await store.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('putExecutionDurable resolves once its journal entry is synced; the one-line JSON file follows without an fsync', async () => {
    fs.calls.length = 0;
    await store.putExecutionDurable(execution('e1'));
    expect(fs.count('sync', inJournal)).toBe(1);
    await store.flush();
    expect(await readJson('executions/e1.json')).toEqual(execution('e1'));
    expect(await readFile(join(execDir(), 'e1.json'), 'utf8')).toBe(`${JSON.stringify(execution('e1'))}\n`);
    expect(fs.count('sync', inExecDir)).toBe(0);
    expect(fs.count('sync', (p) => p === execDir())).toBe(0);
  });

  it('rejects STORAGE_UNAVAILABLE on ENOSPC and leaves no file and no temp file', async () => {
    fs.fail({ op: 'writeFile', code: 'ENOSPC', partial: true });
    const err = await store.putExecutionDurable(execution('e1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskForgeError);
    expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE', statusCode: 503, details: { code: 'ENOSPC' } });
    expect((err as Error).message).toBe('storage is unavailable: ENOSPC');
    await store.flush();
    expect(await readdir(execDir())).toEqual([]);
    await store.close();
    const reopened = await createFileStore({ dataDir }).open();
    expect(reopened.executions).toEqual([]);
  });

  it('rejects STORAGE_UNAVAILABLE on EIO at the journal sync and keeps the previous record, also after reopen', async () => {
    await store.putExecutionDurable(execution('e1'));
    await store.flush();
    fs.fail({ op: 'sync', code: 'EIO', match: inJournal });
    await expect(store.putExecutionDurable(execution('e1', { status: 'running' }))).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { code: 'EIO' },
    });
    await store.flush();
    expect(await readJson('executions/e1.json')).toMatchObject({ status: 'queued' });
    expect(await readdir(execDir())).toEqual(['e1.json']);
    // Not checkpointed: the reopen replays the journal, whose failed batch was cut off.
    const reopened = await createFileStore({ dataDir }).open();
    expect(reopened.executions).toEqual([execution('e1')]);
  });

  it('group-commits concurrent durable writes: one journal sync per batch, none per file', async () => {
    // A slow journal sync, so every other accept arrives while the first one runs.
    const slow: StoreFs = {
      ...fs,
      open: async (p, flags) => {
        const h = await fs.open(p, flags);
        if (!inJournal(p)) return h;
        return { ...h, datasync: async () => (await new Promise((r) => setTimeout(r, 30)), h.datasync?.()) };
      },
    };
    const s = createFileStore({ dataDir, fs: slow });
    fs.calls.length = 0;
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.putExecutionDurable(execution(`c${i}`))));
    expect(fs.count('sync', inJournal)).toBeLessThanOrEqual(3);
    await s.flush();
    expect(await readdir(execDir())).toHaveLength(50);
    expect(fs.count('sync', inExecDir)).toBe(0);
    expect(fs.count('sync', (p) => p === execDir())).toBe(0);
    await s.close();
  });

  it('coalesces repeated putExecution of one id into one file write', async () => {
    fs.calls.length = 0;
    for (let i = 0; i < 10; i++) store.putExecution(execution('e1', { attempt: i }));
    await store.flush();
    expect(fs.count('open', inExecDir)).toBe(1);
    expect(fs.count('rename')).toBe(1);
    expect(await readJson('executions/e1.json')).toMatchObject({ attempt: 9 });
  });

  it('a batch of group-committed records costs one journal sync and no file or directory fsync', async () => {
    fs.calls.length = 0;
    for (let i = 0; i < 20; i++) store.putExecution(execution(`b${i}`));
    await store.flush();
    expect(await readdir(execDir())).toHaveLength(20);
    expect(fs.count('sync', inJournal)).toBe(1);
    // Besides the journal directory's, once, when the segment was created.
    expect(fs.count('sync', (p) => !inJournal(p) && p !== join(dataDir, 'journal'))).toBe(0);
  });

  it('close() checkpoints: syncs the files and directories written, then deletes the journal', async () => {
    for (let i = 0; i < 20; i++) store.putExecution(execution(`b${i}`));
    store.putLogs(logsOf('b1'));
    await store.flush();
    expect(await readdir(join(dataDir, 'journal'))).toHaveLength(1);
    fs.calls.length = 0;
    await store.close();
    expect(fs.count('sync', inExecDir)).toBe(20);
    expect(fs.count('sync', (p) => p === execDir())).toBe(1);
    expect(fs.count('sync', (p) => p === join(dataDir, 'logs'))).toBe(1);
    expect(await readdir(join(dataDir, 'journal'))).toEqual([]);
    // The segment is deleted only after the last file fsync.
    const lastFileSync = fs.calls.findLastIndex((c) => c.op === 'sync' && !inJournal(c.path) && c.path !== join(dataDir, 'journal'));
    const unlink = fs.calls.findIndex((c) => c.op === 'unlink' && inJournal(c.path));
    expect(unlink).toBeGreaterThan(lastFileSync);
  });

  it('close() checkpoints with one file-system sync when it can: no file is fsynced on its own', async () => {
    const synced: { dirs: readonly string[]; atCall: number }[] = [];
    const s = createFileStore({
      dataDir,
      fs,
      groupCommitMs: 5,
      syncFileSystem: async (dirs) => (synced.push({ dirs, atCall: fs.calls.length }), true),
    });
    await s.open();
    for (let i = 0; i < 5; i++) s.putExecution(execution(`w${i}`));
    s.putLogs(logsOf('w1'));
    await s.flush();
    fs.calls.length = 0;
    await s.close();
    expect(synced.map((x) => [...x.dirs].sort())).toEqual([[execDir(), join(dataDir, 'logs')].sort()]);
    expect(fs.count('sync', (p) => !inJournal(p) && p !== join(dataDir, 'journal'))).toBe(0);
    expect(await readdir(join(dataDir, 'journal'))).toEqual([]);
    // The segment is deleted only after the file system was synced.
    const unlink = fs.calls.findIndex((c) => c.op === 'unlink' && inJournal(c.path));
    expect(unlink).toBeGreaterThanOrEqual(synced[0]!.atCall);
  });

  it('falls back to fsync per file when the file-system sync could not be done', async () => {
    let asked = 0;
    const s = createFileStore({ dataDir, fs, groupCommitMs: 5, syncFileSystem: async () => (asked++, false) });
    await s.open();
    for (let i = 0; i < 5; i++) s.putExecution(execution(`v${i}`));
    await s.flush();
    fs.calls.length = 0;
    await s.close();
    expect(asked).toBe(1);
    expect(fs.count('sync', inExecDir)).toBe(5);
    expect(fs.count('sync', (p) => p === execDir())).toBe(1);
    expect(await readdir(join(dataDir, 'journal'))).toEqual([]);
  });

  it('flush() makes pending writes visible on disk', async () => {
    store.putExecution(execution('e1', { status: 'running' }));
    store.putLogs(logsOf('e1'));
    expect(await readdir(execDir())).toEqual([]);
    await store.flush();
    expect(await readJson('executions/e1.json')).toMatchObject({ status: 'running' });
    expect(await readJson('logs/e1.json')).toEqual(logsOf('e1'));
  });

  it('flushes on the group-commit timer without being asked', async () => {
    store.putExecution(execution('e1', { status: 'succeeded' }));
    await vi.waitFor(async () => expect(await readdir(execDir())).toEqual(['e1.json']), { timeout: 2000, interval: 5 });
  });

  it('arms timers only while something is staged: one for the files, one for the journal batch', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const s = createFileStore({ dataDir, fs, groupCommitMs: 5 });
    expect(vi.getTimerCount()).toBe(0);
    s.putExecution(execution('e1'));
    s.putExecution(execution('e2'));
    s.putLogs(logsOf('e1'));
    expect(vi.getTimerCount()).toBe(2);
  });

  it('serialises the record when handed over, not when flushed', async () => {
    const e = execution('e1');
    store.putExecution(e);
    e.status = 'failed';
    await store.flush();
    expect(await readJson('executions/e1.json')).toMatchObject({ status: 'queued' });
  });

  it('does not let an older durable write land on top of a newer putExecution', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    const gated: StoreFs = {
      ...fs,
      rename: async (from, to) => {
        if (!held && to.endsWith('e1.json')) {
          held = true;
          await gate;
        }
        return fs.rename(from, to);
      },
    };
    // Not held (file-hold.test.ts), so the durable write goes to its file at once.
    const s = createFileStore({ dataDir, fs: gated, fileHoldMs: 0 });
    const durable = s.putExecutionDurable(execution('e1', { status: 'queued' }));
    await vi.waitFor(() => expect(held).toBe(true));
    s.putExecution(execution('e1', { status: 'running' }));
    const flushed = s.flush();
    // Give a wrongly unordered flush time to rename first, so the durable rename would land last.
    await new Promise((r) => setTimeout(r, 50));
    release();
    await Promise.all([durable, flushed]);
    expect(await readJson('executions/e1.json')).toMatchObject({ status: 'running' });
    await s.close();
  });

  it('coalesces a staged copy with a newer durable write into one file write', async () => {
    store.putExecution(execution('e1', { status: 'running' }));
    await store.putExecutionDurable(execution('e1', { status: 'succeeded' }));
    fs.calls.length = 0;
    await store.flush();
    expect(fs.count('rename')).toBe(1);
    expect(await readJson('executions/e1.json')).toMatchObject({ status: 'succeeded' });
  });

  it('reports a failed flush, keeps the record staged and writes it on the next flush', async () => {
    fs.fail({ op: 'writeFile', code: 'ENOSPC', times: 1, match: inExecDir });
    store.putExecution(execution('e1'));
    await expect(store.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { code: 'ENOSPC' } });
    expect(await readdir(execDir())).toEqual([]);
    await store.flush();
    expect(await readJson('executions/e1.json')).toEqual(execution('e1'));
  });

  it('retries a failed group commit on its own timer', async () => {
    fs.fail({ op: 'rename', code: 'EIO', times: 2 });
    store.putExecution(execution('e1'));
    await vi.waitFor(async () => expect(await readdir(execDir())).toEqual(['e1.json']), { timeout: 3000, interval: 5 });
    expect(fs.count('rename', inExecDir)).toBe(3);
  });

  it('getLogs returns the staged copy, then the file, and null when there are none', async () => {
    expect(await store.getLogs('e1')).toBeNull();
    store.putLogs(logsOf('e1', 'staged'));
    expect(await store.getLogs('e1')).toEqual(logsOf('e1', 'staged'));
    await store.flush();
    const fresh = createFileStore({ dataDir, fs });
    expect(await fresh.getLogs('e1')).toEqual(logsOf('e1', 'staged'));
  });

  it('getLogs quarantines a corrupt logs file and returns null', async () => {
    await writeFile(join(dataDir, 'logs', 'e1.json'), '{"executionId": "e1", "lines": [');
    expect(await store.getLogs('e1')).toBeNull();
    expect(await readdir(join(dataDir, 'logs'))).toEqual([]);
    expect(await readdir(join(dataDir, 'quarantine'))).toEqual([expect.stringMatching(/^logs\.e1\.json\./)]);
  });

  it('deleteExecution removes the execution and its logs, staged copies included', async () => {
    await store.putExecutionDurable(execution('e1'));
    store.putLogs(logsOf('e1'));
    await store.flush();
    store.putExecution(execution('e1', { status: 'running' }));
    store.putLogs(logsOf('e1', 'later'));
    await store.deleteExecution('e1');
    await store.flush();
    expect(await readdir(execDir())).toEqual([]);
    expect(await readdir(join(dataDir, 'logs'))).toEqual([]);
    expect(await store.getLogs('e1')).toBeNull();
    await expect(store.deleteExecution('e1')).resolves.toBeUndefined();
  });

  it('putFunction and deleteFunction write and remove functions/<name>.json durably', async () => {
    const fn = { name: 'hello', versions: [] };
    fs.calls.length = 0;
    await store.putFunction(fn);
    expect(await readJson('functions/hello.json')).toEqual(fn);
    expect(fs.count('sync', (p) => p === join(dataDir, 'functions'))).toBe(1);
    await store.deleteFunction('hello');
    expect(await readdir(join(dataDir, 'functions'))).toEqual([]);
  });

  it('rejects invalid names and ids before touching the file system', async () => {
    const untouched = createFaultFs(nodeStoreFs);
    const s = createFileStore({ dataDir, fs: untouched });
    const bad = ['../escape', 'a/b', '', 'x'.repeat(65), 'with space', '.hidden.tmp/..'];
    for (const id of bad) {
      await expect(s.putExecutionDurable(execution(id))).rejects.toMatchObject({ code: 'INVALID_NAME' });
      expect(() => s.putExecution(execution(id))).toThrow(TaskForgeError);
      expect(() => s.putLogs(logsOf(id))).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
      await expect(s.getLogs(id)).rejects.toMatchObject({ code: 'INVALID_NAME' });
      await expect(s.deleteExecution(id)).rejects.toMatchObject({ code: 'INVALID_NAME' });
    }
    for (const name of ['../escape', 'Upper', '1abc', 'a_b', '']) {
      await expect(s.putFunction({ name, versions: [] })).rejects.toMatchObject({ code: 'INVALID_NAME' });
      await expect(s.deleteFunction(name)).rejects.toMatchObject({ code: 'INVALID_NAME' });
    }
    await s.flush();
    expect(untouched.calls).toEqual([]);
  });

  it('close() flushes, is idempotent, and stops the timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    store.putExecution(execution('e1'));
    expect(vi.getTimerCount()).toBe(2);
    const first = store.close();
    expect(store.close()).toBe(first);
    await first;
    expect(vi.getTimerCount()).toBe(0);
    expect(await readJson('executions/e1.json')).toEqual(execution('e1'));
  });
});

describe('file store options', () => {
  it.each([
    [{ lazyCommitMs: -1 }, 'lazyCommitMs must be a number >= 0'],
    [{ lazyCommitMs: Number.NaN }, 'lazyCommitMs must be a number >= 0'],
    [{ groupCommitMs: -5 }, 'groupCommitMs must be a number >= 0'],
    [{ checkpointIntervalMs: Number.POSITIVE_INFINITY }, 'checkpointIntervalMs must be a number >= 0'],
    [{ writeConcurrency: 0 }, 'writeConcurrency must be an integer >= 1'],
    [{ dataDir: '' }, 'dataDir must be a non-empty path'],
  ])('rejects %o', (over, message) => {
    expect(() => resolveFileStoreOptions({ dataDir: '/data', ...over })).toThrow(
      expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: message.split(' ')[0], message: `invalid file store option: ${message}` }),
    );
    expect(() => resolveFileStoreOptions({ dataDir: '/data', ...over })).toThrow(OptionsError);
  });

  it('defaults lazyCommitMs to a few ms and keeps an explicit 0', () => {
    expect(resolveFileStoreOptions({ dataDir: '/data' }).lazyCommitMs).toBe(5);
    expect(resolveFileStoreOptions({ dataDir: '/data', lazyCommitMs: 0 }).lazyCommitMs).toBe(0);
  });
});
