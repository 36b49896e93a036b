/**
 * The narrow slice of `node:fs/promises` the store uses, as an interface so tests can put a
 * fake in front of the real file system and make any single call fail (ENOSPC, EIO, …).
 * Nothing in the store may import `node:fs` directly; everything goes through a StoreFs.
 */
import { readFile as readFileCb } from 'node:fs';
import * as fsp from 'node:fs/promises';

export interface StoreFileHandle {
  writeFile(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFs {
  open(path: string, flags: string): Promise<StoreFileHandle>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, opts: { recursive: true }): Promise<unknown>;
}

export const nodeStoreFs: StoreFs = {
  open: (path, flags) => fsp.open(path, flags),
  // The callback readFile: about twice as fast as fs/promises' for many small files (no
  // FileHandle per read), which is most of what open() does.
  readFile: (path, encoding) =>
    new Promise<string>((resolve, reject) => readFileCb(path, encoding, (err, text) => (err ? reject(err) : resolve(text)))),
  readdir: (path) => fsp.readdir(path),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  mkdir: (path, opts) => fsp.mkdir(path, opts),
};

/** The errno code of a file-system error (`ENOSPC`, `EIO`, …), or `EUNKNOWN`. */
export function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}
