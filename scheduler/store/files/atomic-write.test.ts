import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTempFileName, tempFileName, writeFileAtomic } from './atomic-write.js';
import { createFaultFs } from '../testing/fault-fs.js';
import { nodeStoreFs } from './store-fs.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces the target and leaves no temp file', async () => {
    const target = join(dir, 'a.json');
    await writeFile(target, 'old');
    await writeFileAtomic(target, 'new', { fsync: true });
    expect(await readFile(target, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('creates the new content with the mode asked for, even over a more open file', async () => {
    const target = join(dir, 'secret');
    await writeFile(target, 'old', { mode: 0o644 });
    await writeFileAtomic(target, 'new', { fsync: true, mode: 0o600 });
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readFile(target, 'utf8')).toBe('new');
  });

  it('fsyncs the file and the directory only when asked', async () => {
    const fs = createFaultFs(nodeStoreFs);
    await writeFileAtomic(join(dir, 'a.json'), 'x', { fsync: false, fs });
    expect(fs.count('sync')).toBe(0);
    await writeFileAtomic(join(dir, 'a.json'), 'y', { fsync: true, fs });
    expect(fs.count('sync')).toBe(2);
    expect(fs.count('sync', (p) => p === dir)).toBe(1);
  });

  it('keeps the old content intact when the write fails midway', async () => {
    const target = join(dir, 'a.json');
    await writeFile(target, 'old content');
    const fs = createFaultFs(nodeStoreFs);
    fs.fail({ op: 'writeFile', code: 'ENOSPC', partial: true });
    await expect(writeFileAtomic(target, 'x'.repeat(10_000), { fsync: true, fs })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readFile(target, 'utf8')).toBe('old content');
    expect(await readdir(dir)).toEqual(['a.json']);
    expect(fs.count('rename')).toBe(0);
  });

  it.each(['sync', 'close', 'rename'] as const)('removes the temp file and keeps the target when %s fails', async (op) => {
    const target = join(dir, 'a.json');
    await writeFile(target, 'old content');
    const fs = createFaultFs(nodeStoreFs);
    fs.fail({ op, code: 'EIO' });
    await expect(writeFileAtomic(target, 'new', { fsync: true, fs })).rejects.toMatchObject({ code: 'EIO' });
    expect(await readFile(target, 'utf8')).toBe('old content');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('does not create the target when the first write fails', async () => {
    const target = join(dir, 'new.json');
    const fs = createFaultFs(nodeStoreFs);
    fs.fail({ op: 'open', code: 'ENOSPC' });
    await expect(writeFileAtomic(target, 'new', { fsync: true, fs })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('hands the directory fsync to the caller when syncDir is given', async () => {
    const fs = createFaultFs(nodeStoreFs);
    const synced: string[] = [];
    await writeFileAtomic(join(dir, 'a.json'), 'x', { fsync: true, fs, syncDir: async (d) => void synced.push(d) });
    await writeFileAtomic(join(dir, 'b.json'), 'x', { fsync: true, fs, syncDir: null });
    expect(synced).toEqual([dir]);
    expect(fs.count('sync', (p) => p === dir)).toBe(0);
  });

  it('names temp files so the start-up sweep recognises them', () => {
    const name = tempFileName('/x/abc.json');
    expect(name).toMatch(/^\.abc\.json\.[0-9a-f]{12}\.tmp$/);
    expect(isTempFileName(name)).toBe(true);
    expect(isTempFileName('abc.json')).toBe(false);
  });
});
