/**
 * Atomic file replacement: write a temp file beside the target, fsync it, rename it over the
 * target, fsync the directory. A reader (or a restart after a crash) sees the old content or the
 * new content, never a mix. It must never leave its temp file behind when it fails, and never
 * touch the target before the new content is complete (and, with `fsync`, on disk).
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { nodeStoreFs, type StoreFileHandle, type StoreFs } from './store-fs.js';

export interface AtomicWriteOptions {
  /** fsync the temp file before the rename and the directory after it. */
  fsync: boolean;
  fs?: StoreFs;
  /**
   * Permission bits of the new file (e.g. 0o600 for a secret). Set when the temp file is created,
   * so the content is never readable by others, not even between the write and the rename.
   */
  mode?: number;
  /**
   * How to fsync the directory after the rename (only with `fsync`). Defaults to syncing it
   * right here; a caller that batches writes passes a shared syncer, or `null` to sync the
   * directory itself once for the whole batch.
   */
  syncDir?: ((dir: string) => Promise<void>) | null;
}

export const TEMP_PREFIX = '.';
export const TEMP_SUFFIX = '.tmp';

export function tempFileName(target: string): string {
  return `${TEMP_PREFIX}${basename(target)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
}

/** True for a name writeFileAtomic may have left behind when the process died mid-write. */
export function isTempFileName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX);
}

/** fsync a directory so that renames and unlinks inside it survive a power loss. */
export async function syncDirectory(dir: string, fs: StoreFs = nodeStoreFs): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data`. If anything fails before the rename, the temp file is removed and
 * the target is untouched. If only the directory fsync fails, the new content is already in
 * place but not known to be durable: the caller must treat the write as not acknowledged.
 */
export async function writeFileAtomic(path: string, data: string, opts: AtomicWriteOptions): Promise<void> {
  const fs = opts.fs ?? nodeStoreFs;
  const dir = dirname(path);
  const tmp = join(dir, tempFileName(path));
  let handle: StoreFileHandle | undefined;
  let created = false;
  try {
    // 'wx': a name collision with another writer must fail, not interleave two writes.
    handle = await fs.open(tmp, 'wx', opts.mode);
    created = true;
    await handle.writeFile(data);
    if (opts.fsync) await handle.sync();
    const h = handle;
    handle = undefined;
    await h.close();
    await fs.rename(tmp, path);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    if (created) await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (!opts.fsync) return;
  if (opts.syncDir === undefined) await syncDirectory(dir, fs);
  else if (opts.syncDir !== null) await opts.syncDir(dir);
}
