import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Execution, ExecutionLogs } from '../../../common/records.js';
import { memoryLog } from '../../../test/helpers/memory-log.js';
import { createFaultFs } from '../testing/fault-fs.js';
import { createFileStore } from '../file-store.js';
import { nodeStoreFs } from '../files/store-fs.js';
import { sampleExecution } from '../../../common/testing/records.js';

const execution = (id: string, over: Partial<Execution> = {}): Execution =>
  sampleExecution({ id, input: { n: 1 }, createdAt: '2025-01-01T00:00:00.000Z', ...over });

const logsOf = (id: string): ExecutionLogs => ({
  executionId: id,
  lines: [{ ts: '2025-01-01T00:00:00.000Z', stream: 'stdout', message: 'hi' }],
  truncated: false,
});

const line = (v: unknown): string => JSON.stringify(v) + '\n';

describe('journal replay and checkpoints', () => {
  let dataDir: string;
  // Tests leave stores open to act as a crash would; each is closed after the test, so no journal
  // file handle is left for the garbage collector (an error since Node 26).
  let opened: ReturnType<typeof createFileStore>[] = [];
  const createStore = (opts: Parameters<typeof createFileStore>[0]): ReturnType<typeof createFileStore> => {
    const store = createFileStore(opts);
    opened.push(store);
    return store;
  };
  const dir = (d: string): string => join(dataDir, d);
  const readJson = async (rel: string): Promise<unknown> => JSON.parse(await readFile(join(dataDir, rel), 'utf8'));

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-replay-'));
    // Creates the layout.
    await createStore({ dataDir }).open();
  });
  afterEach(async () => {
    for (const store of opened) await store.close().catch(() => {});
    opened = [];
    await rm(dataDir, { recursive: true, force: true });
  });

  it('restores acknowledged records after a crash that lost the JSON files, and rewrites them', async () => {
    const crashed = createStore({ dataDir });
    await crashed.open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => crashed.putExecutionDurable(execution(`e${i}`))));
    crashed.putExecution(execution('e0', { status: 'running' }));
    crashed.putLogs(logsOf('e1'));
    await crashed.flush();
    // No close(), so no checkpoint: as if the power went before the page cache reached the disk.
    for (const f of await readdir(dir('executions'))) await unlink(join(dir('executions'), f));
    await unlink(join(dir('logs'), 'e1.json'));
    expect(await readdir(dir('journal'))).toHaveLength(1);

    const store = createStore({ dataDir });
    const state = await store.open();
    expect(state.executions).toHaveLength(50);
    expect(state.executions.find((e) => e.id === 'e0')).toEqual(execution('e0', { status: 'running' }));
    expect(await readdir(dir('executions'))).toHaveLength(50);
    expect(await readJson('executions/e0.json')).toMatchObject({ status: 'running' });
    expect(await readJson('logs/e1.json')).toEqual(logsOf('e1'));
    // The replayed segment goes once a checkpoint has synced those files.
    await store.close();
    expect(await readdir(dir('journal'))).toEqual([]);
  });

  it('puts back a newer state over an older file, and applies deletes', async () => {
    await writeFile(join(dir('executions'), 'a.json'), JSON.stringify(execution('a')));
    await writeFile(join(dir('executions'), 'gone.json'), JSON.stringify(execution('gone')));
    await writeFile(
      join(dir('journal'), '000000000004.log'),
      line({ s: 1, t: 'exec', rec: execution('a', { status: 'succeeded' }) }) + line({ s: 2, t: 'del', id: 'gone' }) + line({ t: 'commit', s: 2 }),
    );
    const state = await createStore({ dataDir }).open();
    expect(state.executions).toEqual([execution('a', { status: 'succeeded' })]);
    expect(await readJson('executions/a.json')).toMatchObject({ status: 'succeeded' });
    expect(await readdir(dir('executions'))).toEqual(['a.json']);
  });

  it('ignores a torn last line and an uncommitted batch, with a warning', async () => {
    const log = memoryLog('debug');
    const committed = line({ s: 1, t: 'exec', rec: execution('kept') }) + line({ t: 'commit', s: 1 });
    const uncommitted = line({ s: 2, t: 'exec', rec: execution('unacked') });
    const torn = line({ s: 3, t: 'exec', rec: execution('torn') }).slice(0, 40);
    await writeFile(join(dir('journal'), '000000000001.log'), committed + uncommitted + torn);
    const state = await createStore({ dataDir, logger: log.logger }).open();
    expect(state.executions.map((e) => e.id)).toEqual(['kept']);
    expect(await readdir(dir('executions'))).toEqual(['kept.json']);
    const warn = log.find((l) => l.msg === 'ignoring the torn tail of a journal segment');
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ level: 40, file: 'journal/000000000001.log', entries: 1 });
    expect(log.find((l) => l.msg === 'journal replayed')[0]).toMatchObject({ entries: 1, skipped: 2 });
  });

  it('skips the batch of a corrupt line in the middle and replays the others, in segment order', async () => {
    const log = memoryLog();
    await writeFile(
      join(dir('journal'), '000000000001.log'),
      line({ s: 1, t: 'exec', rec: execution('x', { attempt: 1 }) }) +
        line({ t: 'commit', s: 1 }) +
        line({ s: 2, t: 'exec', rec: execution('y') }) +
        '{"s":3,"t":"exec","rec":{"id":\n' +
        line({ t: 'commit', s: 3 }),
    );
    await writeFile(join(dir('journal'), '000000000002.log'), line({ s: 4, t: 'exec', rec: execution('x', { attempt: 2 }) }) + line({ t: 'commit', s: 4 }));
    const state = await createStore({ dataDir, logger: log.logger }).open();
    expect(state.executions).toEqual([execution('x', { attempt: 2 })]);
    expect(log.find((l) => l.msg === 'corrupt journal line, skipping its batch')).toHaveLength(1);
  });

  it('continues seqs and segment numbers after the replayed ones', async () => {
    await writeFile(join(dir('journal'), '000000000009.log'), line({ s: 41, t: 'exec', rec: execution('a') }) + line({ t: 'commit', s: 41 }));
    // A failing file fsync keeps the replayed segment (the checkpoint cannot complete).
    const fs = createFaultFs(nodeStoreFs);
    fs.fail({ op: 'sync', code: 'EIO', match: (p) => p.startsWith(dir('executions')), times: 100 });
    const store = createStore({ dataDir, fs });
    await store.open();
    await store.putExecutionDurable(execution('b'));
    expect(await readdir(dir('journal'))).toEqual(['000000000009.log', '000000000010.log']);
    expect(await readFile(join(dir('journal'), '000000000010.log'), 'utf8')).toContain('{"s":42,');
    await store.close();
    expect((await readdir(dir('journal'))).length).toBeGreaterThan(0);
  });

  it('a checkpoint deletes a segment only after the files written from it are synced', async () => {
    const fs = createFaultFs(nodeStoreFs);
    const store = createStore({ dataDir, fs });
    await store.open();
    for (let i = 0; i < 10; i++) store.putExecution(execution(`c${i}`));
    await store.flush();
    fs.fail({ op: 'sync', code: 'EIO', match: (p) => p === join(dir('executions'), 'c3.json') });
    await store.close();
    // The failed fsync kept the segment: everything in it is still replayable.
    expect(await readdir(dir('journal'))).toHaveLength(1);
    expect(fs.count('unlink', (p) => p.startsWith(dir('journal')))).toBe(0);

    const fs2 = createFaultFs(nodeStoreFs);
    const again = createStore({ dataDir, fs: fs2 });
    expect((await again.open()).executions).toHaveLength(10);
    await again.close();
    expect(await readdir(dir('journal'))).toEqual([]);
    const lastSync = fs2.calls.findLastIndex((c) => c.op === 'sync' && c.path.startsWith(dir('executions')));
    const unlinked = fs2.calls.findIndex((c) => c.op === 'unlink' && c.path.startsWith(dir('journal') + '/'));
    expect(lastSync).toBeGreaterThanOrEqual(0);
    expect(unlinked).toBeGreaterThan(lastSync);
  });

  it('checkpoints in the background once the active segment is older than the interval', async () => {
    const store = createStore({ dataDir, checkpointIntervalMs: 0 });
    await store.open();
    store.putExecution(execution('t1'));
    await store.flush();
    await vi.waitFor(async () => expect(await readdir(dir('journal'))).toEqual([]), { timeout: 3000, interval: 10 });
    expect(await readJson('executions/t1.json')).toEqual(execution('t1'));
    await store.close();
  });

  it('retries a journal append that failed for a group-committed record, then writes its file', async () => {
    const fs = createFaultFs(nodeStoreFs);
    const store = createStore({ dataDir, fs });
    await store.open();
    fs.fail({ op: 'writeFile', code: 'ENOSPC', match: (p) => p.startsWith(dir('journal') + '/') });
    // Keeps every checkpoint from completing, so the journal stays as a crash would leave it.
    fs.fail({ op: 'sync', code: 'EIO', match: (p) => p.startsWith(dir('executions')), times: 100 });
    store.putExecution(execution('r1', { status: 'running' }));
    await store.flush();
    expect(await readJson('executions/r1.json')).toMatchObject({ status: 'running' });
    await unlink(join(dir('executions'), 'r1.json'));
    // The re-appended entry is in the journal: a crash now still restores it.
    const state = await createStore({ dataDir }).open();
    expect(state.executions.map((e) => e.id)).toEqual(['r1']);
  });
});
