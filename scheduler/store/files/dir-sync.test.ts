import { describe, expect, it } from 'vitest';
import { createDirSyncer } from './dir-sync.js';

/** A directory fsync the test finishes by hand. */
function manualSync() {
  const pending: Array<{ dir: string; resolve: () => void; reject: (e: Error) => void }> = [];
  const fn = (dir: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      pending.push({ dir, resolve, reject });
    });
  return { fn, pending };
}

describe('createDirSyncer', () => {
  it('coalesces requests made during a running fsync into one queued fsync', async () => {
    const m = manualSync();
    const syncer = createDirSyncer(m.fn);
    const first = syncer.sync('/d');
    const joined = [syncer.sync('/d'), syncer.sync('/d'), syncer.sync('/d')];
    expect(m.pending).toHaveLength(1);
    m.pending[0]!.resolve();
    await first;
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    // The requests that arrived while the first fsync ran need one that starts after them.
    expect(m.pending).toHaveLength(2);
    m.pending[1]!.resolve();
    await Promise.all(joined);
    expect(syncer.count).toBe(2);
  });

  it('keeps directories apart', async () => {
    const m = manualSync();
    const syncer = createDirSyncer(m.fn);
    const a = syncer.sync('/a');
    const b = syncer.sync('/b');
    expect(m.pending.map((p) => p.dir)).toEqual(['/a', '/b']);
    m.pending.forEach((p) => p.resolve());
    await Promise.all([a, b]);
  });

  it('rejects the waiters of a failed fsync and runs the queued one anyway', async () => {
    const m = manualSync();
    const syncer = createDirSyncer(m.fn);
    const first = syncer.sync('/d');
    const second = syncer.sync('/d');
    m.pending[0]!.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
    await expect(first).rejects.toMatchObject({ code: 'EIO' });
    await new Promise((r) => setImmediate(r));
    m.pending[1]!.resolve();
    await expect(second).resolves.toBeUndefined();
  });
});
