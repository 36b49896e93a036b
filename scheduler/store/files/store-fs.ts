/**
 * The narrow slice of `node:fs/promises` the store uses, as an interface so tests can put a
 * fake in front of the real file system and make any single call fail (ENOSPC, EIO, …).
 * Nothing in the store may import `node:fs` directly; everything goes through a StoreFs,
 * the journal's appends and fdatasyncs and the start-up's synchronous reads included. One
 * exception: with the real file system (`nodeStoreFs`), journaled JSON files are written by a
 * worker thread with `node:fs` (writer-thread.ts, started by file-batch.ts); an injected StoreFs gets
 * those writes itself.
 */
import { readFile as readFileCb, readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';

export interface StoreFileHandle {
  /** Writes at the file position; on a handle opened for appending ('a', 'ax'), at the end. */
  writeFile(data: string): Promise<void>;
  sync(): Promise<void>;
  /** fdatasync. Optional so older fakes still fit; the store falls back to sync(). */
  datasync?(): Promise<void>;
  /** Cuts the file to `length` bytes. Optional; without it a failed journal batch is not cut off. */
  truncate?(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFs {
  /** `mode`: permission bits of a file it creates (before the umask); default 0o666. */
  open(path: string, flags: string, mode?: number): Promise<StoreFileHandle>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  /**
   * Blocking read, used by open() to load many small files in slices (far faster than one
   * promise per file). Optional so older fakes still fit; the store falls back to readFile().
   */
  readFileSync?(path: string, encoding: 'utf8'): string;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, opts: { recursive: true }): Promise<unknown>;
}

export const nodeStoreFs: StoreFs = {
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  // The callback readFile: about twice as fast as fs/promises' for many small files (no
  // FileHandle per read).
  readFile: (path, encoding) => new Promise<string>((resolve, reject) => readFileCb(path, encoding, (err, text) => (err ? reject(err) : resolve(text)))),
  readFileSync: (path, encoding) => readFileSync(path, encoding),
  readdir: (path) => fsp.readdir(path),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  mkdir: (path, opts) => fsp.mkdir(path, opts),
};

/** fdatasync when the handle has it, fsync otherwise. */
export function datasync(handle: StoreFileHandle): Promise<void> {
  return handle.datasync ? handle.datasync() : handle.sync();
}

/** The errno code of a file-system error (`ENOSPC`, `EIO`, …), or `EUNKNOWN`. */
export function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}
