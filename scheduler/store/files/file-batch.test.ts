import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFaultFs } from '../testing/fault-fs.js';
import { FileBatcher, MAX_BATCH, WRITER_THREAD_URL, inProcessFileWriter, threadedFileWriter, type FileBatchWriter, type FileWrite } from './file-batch.js';
import { nodeStoreFs } from './store-fs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-batch-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('threadedFileWriter', () => {
  it('runs its thread from the module file beside it (the .ts source here, the .js one in dist/)', () => {
    expect(WRITER_THREAD_URL.href).toBe(new URL('./writer-thread.ts', import.meta.url).href);
  });

  it('writes and replaces whole files, leaving no temp file', async () => {
    const w = threadedFileWriter();
    try {
      await writeFile(join(dir, 'a.json'), 'old\n');
      const out = await w.writeFiles([
        { path: join(dir, 'a.json'), data: 'new a\n' },
        { path: join(dir, 'b.json'), data: 'b\n' },
      ]);
      expect(out).toEqual([null, null]);
      expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('new a\n');
      expect(await readFile(join(dir, 'b.json'), 'utf8')).toBe('b\n');
      expect((await readdir(dir)).sort()).toEqual(['a.json', 'b.json']);
    } finally {
      await w.close();
    }
  });

  it('fails only the file that cannot be written, with its errno code', async () => {
    const w = threadedFileWriter();
    try {
      const out = await w.writeFiles([
        { path: join(dir, 'missing', 'x.json'), data: 'x' },
        { path: join(dir, 'ok.json'), data: 'ok' },
      ]);
      expect(out[0]?.code).toBe('ENOENT');
      expect(out[0]?.path).toBe(join(dir, 'missing', 'x.json'));
      expect(out[1]).toBeNull();
      expect(await readdir(dir)).toEqual(['ok.json']);
    } finally {
      await w.close();
    }
  });

  it('removes the temp file when the rename fails', async () => {
    const w = threadedFileWriter();
    try {
      // A directory where the file should go: the temp file is written, the rename fails.
      await import('node:fs/promises').then((f) => f.mkdir(join(dir, 'taken.json')));
      await writeFile(join(dir, 'taken.json', 'inside'), '');
      const [err] = await w.writeFiles([{ path: join(dir, 'taken.json'), data: 'x' }]);
      expect(err?.code).toMatch(/^(EISDIR|ENOTEMPTY|EEXIST)$/);
      expect(await readdir(dir)).toEqual(['taken.json']);
    } finally {
      await w.close();
    }
  });

  it('fails the batches in flight when its thread dies, and starts a new thread for the next', async () => {
    const thread = join(dir, 'dying-thread.mjs');
    await writeFile(
      thread,
      `import { parentPort } from 'node:worker_threads';
      parentPort.on('message', ({ id, writes }) => {
        if (writes[0].data === 'die') process.exit(3);
        parentPort.postMessage({ id, errors: writes.map(() => null) });
      });`,
    );
    const w = threadedFileWriter({ thread: pathToFileURL(thread) });
    try {
      await expect(w.writeFiles([{ path: 'p', data: 'die' }])).rejects.toThrow('file writer thread exited (3)');
      await expect(w.writeFiles([{ path: 'p', data: 'fine' }])).resolves.toEqual([null]);
    } finally {
      await w.close();
    }
  });

  it('rejects writes once closed', async () => {
    const w = threadedFileWriter();
    await w.writeFiles([{ path: join(dir, 'a'), data: 'a' }]);
    await w.close();
    await expect(w.writeFiles([{ path: join(dir, 'b'), data: 'b' }])).rejects.toThrow('file writer closed');
  });
});

describe('inProcessFileWriter', () => {
  it('goes through the given fs, so its faults reach the one write they hit', async () => {
    const fs = createFaultFs(nodeStoreFs);
    fs.fail({ op: 'rename', code: 'ENOSPC', match: (p) => p.includes('bad.json') });
    const out = await inProcessFileWriter(fs, 2).writeFiles([
      { path: join(dir, 'bad.json'), data: 'x' },
      { path: join(dir, 'good.json'), data: 'y' },
    ]);
    expect(out[0]?.code).toBe('ENOSPC');
    expect(out[1]).toBeNull();
    expect(await readdir(dir)).toEqual(['good.json']);
  });
});

/** A writer whose batches the test settles by hand. */
function manualWriter(): FileBatchWriter & { batches: { writes: FileWrite[]; settle: (o: (NodeJS.ErrnoException | null)[] | Error) => void }[] } {
  const batches: { writes: FileWrite[]; settle: (o: (NodeJS.ErrnoException | null)[] | Error) => void }[] = [];
  return {
    batches,
    writeFiles: (writes) => new Promise((resolve, reject) => batches.push({ writes, settle: (o) => (o instanceof Error ? reject(o) : resolve(o)) })),
    close: () => Promise.resolve(),
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('FileBatcher', () => {
  it('sends the writes of one turn as one batch, and the next batch only after it settles', async () => {
    const w = manualWriter();
    const b = new FileBatcher(w);
    const first = [b.write('a', '1'), b.write('b', '2')];
    await turn();
    expect(w.batches.map((x) => x.writes.map((f) => f.path))).toEqual([['a', 'b']]);
    const later = b.write('c', '3');
    await turn();
    expect(w.batches).toHaveLength(1);
    w.batches[0]!.settle([null, null]);
    await Promise.all(first);
    await turn();
    expect(w.batches[1]?.writes.map((f) => f.path)).toEqual(['c']);
    w.batches[1]!.settle([null]);
    await later;
  });

  it('rejects just the writes that failed', async () => {
    const w = manualWriter();
    const b = new FileBatcher(w);
    const ok = b.write('a', '1');
    const bad = b.write('b', '2');
    await turn();
    const err: NodeJS.ErrnoException = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    w.batches[0]!.settle([null, err]);
    await expect(ok).resolves.toBeUndefined();
    await expect(bad).rejects.toBe(err);
  });

  it('rejects the whole batch when the writer fails, and keeps going', async () => {
    const w = manualWriter();
    const b = new FileBatcher(w);
    const a = b.write('a', '1');
    await turn();
    w.batches[0]!.settle(new Error('thread gone'));
    await expect(a).rejects.toThrow('thread gone');
    const c = b.write('c', '3');
    await turn();
    w.batches[1]!.settle([null]);
    await expect(c).resolves.toBeUndefined();
  });

  it(`hands over at most ${MAX_BATCH} writes at once`, async () => {
    const w = manualWriter();
    const b = new FileBatcher(w);
    const all = Array.from({ length: MAX_BATCH + 3 }, (_, i) => b.write(`f${i}`, 'x'));
    await turn();
    expect(w.batches[0]!.writes).toHaveLength(MAX_BATCH);
    w.batches[0]!.settle(w.batches[0]!.writes.map(() => null));
    await turn();
    await turn();
    expect(w.batches[1]!.writes.map((f) => f.path)).toEqual([`f${MAX_BATCH}`, `f${MAX_BATCH + 1}`, `f${MAX_BATCH + 2}`]);
    w.batches[1]!.settle([null, null, null]);
    await Promise.all(all);
  });
});
