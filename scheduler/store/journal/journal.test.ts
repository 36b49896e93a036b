import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../common/logger.js';
import { createFaultFs, type FaultFs } from '../testing/fault-fs.js';
import { Journal } from './journal.js';
import { createLayout, type Layout } from '../files/layout.js';
import { nodeStoreFs, type StoreFs } from '../files/store-fs.js';

const rec = (id: string): string => JSON.stringify({ id, status: 'queued' });

describe('journal', () => {
  let dataDir: string;
  let layout: Layout;
  let fs: FaultFs;
  const journalDir = (): string => join(dataDir, 'journal');
  const inJournal = (p: string): boolean => p.startsWith(journalDir() + '/');
  const make = (over: { fs?: StoreFs; segmentBytes?: number; onSegmentClosed?: () => void; lazyCommitMs?: number } = {}): Journal =>
    new Journal({
      layout,
      fs: over.fs ?? fs,
      log: silentLogger,
      segmentBytes: over.segmentBytes ?? 1 << 20,
      onSegmentClosed: over.onSegmentClosed,
      lazyCommitMs: over.lazyCommitMs,
    });

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-journal-'));
    layout = createLayout(dataDir);
    await mkdir(journalDir());
    fs = createFaultFs(nodeStoreFs);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('lazy appends', () => {
    /** Lets real file-system callbacks run between fake timer steps. */
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };

    it('wait up to lazyCommitMs for company, then share one write and sync', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const j = make({ lazyCommitMs: 50 });
      let done = 0;
      const appended = [j.append({ t: 'exec', rec: rec('a') }, false), j.append({ t: 'exec', rec: rec('b') }, false)];
      for (const a of appended) void a.then(() => done++);
      await settle();
      expect(fs.count('sync', inJournal)).toBe(0);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(49);
      await settle();
      expect(done).toBe(0);
      vi.advanceTimersByTime(1);
      await Promise.all(appended);
      expect(fs.count('sync', inJournal)).toBe(1);
      await j.close();
    });

    it('are taken along, at once, by an urgent append', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const j = make({ lazyCommitMs: 50 });
      const lazy = j.append({ t: 'exec', rec: rec('a') }, false);
      await Promise.all([lazy, j.append({ t: 'exec', rec: rec('b') })]);
      expect(fs.count('sync', inJournal)).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
      await j.close();
    });

    it('are written at once by commitNow() and by rotate()', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const j = make({ lazyCommitMs: 50 });
      const first = j.append({ t: 'exec', rec: rec('a') }, false);
      j.commitNow();
      await first;
      const second = j.append({ t: 'exec', rec: rec('b') }, false);
      await j.rotate();
      await second;
      expect(fs.count('sync', inJournal)).toBe(2);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('are written at once when lazyCommitMs is 0', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const j = make({ lazyCommitMs: 0 });
      await j.append({ t: 'exec', rec: rec('a') }, false);
      expect(vi.getTimerCount()).toBe(0);
      await j.close();
    });
  });

  it('writes NDJSON entries with increasing seqs, each batch closed by a commit line', async () => {
    const j = make();
    await Promise.all([j.append({ t: 'exec', rec: rec('a') }), j.append({ t: 'logs', rec: '{"executionId":"a"}' })]);
    await j.append({ t: 'del', id: 'a' });
    await j.close();
    const [segment] = await readdir(journalDir());
    expect(segment).toBe('000000000001.log');
    const lines = (await readFile(join(journalDir(), segment!), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { s: 1, t: 'exec', rec: { id: 'a', status: 'queued' } },
      { s: 2, t: 'logs', rec: { executionId: 'a' } },
      { t: 'commit', s: 2 },
      { s: 3, t: 'del', id: 'a' },
      { t: 'commit', s: 3 },
    ]);
  });

  it('group-commits: appends made while a sync runs share the next write and sync', async () => {
    // A slow fdatasync, so every append after the first lands while it runs.
    const slow: StoreFs = {
      ...fs,
      open: async (p, flags) => {
        const h = await fs.open(p, flags);
        return { ...h, datasync: async () => (await new Promise((r) => setTimeout(r, 20)), h.datasync?.()) };
      },
    };
    const j = make({ fs: slow });
    await Promise.all(Array.from({ length: 200 }, (_, i) => j.append({ t: 'exec', rec: rec(`e${i}`) })));
    expect(fs.count('sync', inJournal)).toBeLessThanOrEqual(3);
    expect(fs.count('writeFile', inJournal)).toBe(fs.count('sync', inJournal));
    expect(j.batches).toBe(fs.count('sync', inJournal));
    await j.close();
  });

  it('rejects every append of a failed batch, cuts the segment back and goes on in a new one', async () => {
    const j = make();
    await j.append({ t: 'exec', rec: rec('ok1') });
    fs.fail({ op: 'writeFile', code: 'ENOSPC', partial: true, match: inJournal });
    const failed = await Promise.allSettled([j.append({ t: 'exec', rec: rec('lost1') }), j.append({ t: 'exec', rec: rec('lost2') })]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(failed[0]).toMatchObject({ reason: { code: 'ENOSPC' } });
    expect(fs.count('truncate', inJournal)).toBe(1);
    await j.append({ t: 'exec', rec: rec('ok2') });
    await j.close();
    expect(await readdir(journalDir())).toEqual(['000000000001.log', '000000000002.log']);
    const first = await readFile(join(journalDir(), '000000000001.log'), 'utf8');
    expect(first).toContain('"ok1"');
    expect(first).not.toContain('lost');
    expect(await readFile(join(journalDir(), '000000000002.log'), 'utf8')).toContain('"ok2"');
    expect(j.closedSegments).toEqual([1, 2]);
  });

  it('rejects the batch when its fdatasync fails, and cuts it off', async () => {
    const j = make();
    await j.append({ t: 'exec', rec: rec('ok1') });
    fs.fail({ op: 'sync', code: 'EIO', match: inJournal });
    await expect(j.append({ t: 'exec', rec: rec('lost') })).rejects.toMatchObject({ code: 'EIO' });
    await j.close();
    expect(await readFile(join(journalDir(), '000000000001.log'), 'utf8')).not.toContain('lost');
  });

  it('fsyncs the journal directory when it creates a segment, before acknowledging anything in it', async () => {
    const j = make();
    await j.append({ t: 'exec', rec: rec('a') });
    const dirSync = fs.calls.findIndex((c) => c.op === 'sync' && c.path === journalDir());
    const fileSync = fs.calls.findIndex((c) => c.op === 'sync' && inJournal(c.path));
    expect(dirSync).toBeGreaterThanOrEqual(0);
    expect(dirSync).toBeLessThan(fileSync);
    await j.close();
  });

  it('closes a full segment, tells the checkpoint, and numbers new ones after those found at start', async () => {
    const closed: number[] = [];
    const j = make({ segmentBytes: 10, onSegmentClosed: () => closed.push(j.closedSegments.length) });
    j.start([7, 3], 40);
    await j.append({ t: 'exec', rec: rec('a') });
    await j.append({ t: 'exec', rec: rec('b') });
    await j.rotate(); // nothing left to close: only waits for the full segment's close
    expect(closed).toEqual([3, 4]);
    expect(j.closedSegments).toEqual([3, 7, 8, 9]);
    expect(await readFile(join(journalDir(), '000000000008.log'), 'utf8')).toContain('{"s":41,');
    await j.removeSegments(8);
    expect(j.closedSegments).toEqual([9]);
    expect(await readdir(journalDir())).toEqual(['000000000009.log']);
  });

  it('used without start(), numbers its first segment after the ones on disk', async () => {
    await make().append({ t: 'exec', rec: rec('a') });
    const second = make();
    await second.append({ t: 'exec', rec: rec('b') });
    await second.close();
    expect(await readdir(journalDir())).toEqual(['000000000001.log', '000000000002.log']);
  });
});
