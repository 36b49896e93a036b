/**
 * A StoreFs in front of another one that records every call and fails chosen calls with an errno
 * code, so tests (and fault drills) can show what the store does when the disk is full or broken.
 * It must never be the default: only code that asks for faults gets one.
 */
import type { StoreFileHandle, StoreFs } from '../files/store-fs.js';

/** `sync` covers fdatasync too, and `readFile` the synchronous read: a fault on either hits both. */
export type FsOp = 'open' | 'readFile' | 'readdir' | 'rename' | 'unlink' | 'mkdir' | 'writeFile' | 'sync' | 'truncate' | 'close';

export interface FsCall {
  op: FsOp;
  path: string;
}

export interface Fault {
  op: FsOp;
  /** errno code of the injected error, e.g. ENOSPC. */
  code: string;
  /** Only calls whose path passes this test fail. */
  match?: (path: string) => boolean;
  /** How many matching calls fail; default 1. */
  times?: number;
  /** For writeFile: write the first half of the data before failing, like a disk filling up. */
  partial?: boolean;
}

export interface FaultFs extends StoreFs {
  readonly calls: FsCall[];
  fail(fault: Fault): void;
  clearFaults(): void;
  count(op: FsOp, match?: (path: string) => boolean): number;
}

export function fsError(code: string, op: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${op} '${path}'`);
  err.code = code;
  err.syscall = op;
  err.path = path;
  return err;
}

export function createFaultFs(base: StoreFs): FaultFs {
  const calls: FsCall[] = [];
  const baseReadFileSync = base.readFileSync?.bind(base);
  let faults: Array<Fault & { left: number }> = [];

  /** Records the call; returns the fault to inject, if any. */
  const hit = (op: FsOp, path: string): Fault | undefined => {
    calls.push({ op, path });
    const fault = faults.find((f) => f.op === op && f.left > 0 && (!f.match || f.match(path)));
    if (fault) fault.left -= 1;
    return fault;
  };
  const check = (op: FsOp, path: string): void => {
    const fault = hit(op, path);
    if (fault) throw fsError(fault.code, op, path);
  };

  const wrapHandle = (handle: StoreFileHandle, path: string): StoreFileHandle => ({
    async writeFile(data: string) {
      const fault = hit('writeFile', path);
      if (fault) {
        if (fault.partial) await handle.writeFile(data.slice(0, Math.floor(data.length / 2)));
        throw fsError(fault.code, 'write', path);
      }
      await handle.writeFile(data);
    },
    async sync() {
      check('sync', path);
      await handle.sync();
    },
    async datasync() {
      check('sync', path);
      await (handle.datasync ? handle.datasync() : handle.sync());
    },
    ...(handle.truncate && {
      async truncate(length: number) {
        check('truncate', path);
        await handle.truncate?.(length);
      },
    }),
    async close() {
      // A failed close still releases the descriptor, as the kernel does.
      const fault = hit('close', path);
      await handle.close();
      if (fault) throw fsError(fault.code, 'close', path);
    },
  });

  return {
    calls,
    fail(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    count(op, match) {
      return calls.filter((c) => c.op === op && (!match || match(c.path))).length;
    },
    async open(path, flags, mode) {
      check('open', path);
      return wrapHandle(await base.open(path, flags, mode), path);
    },
    async readFile(path, encoding) {
      check('readFile', path);
      return base.readFile(path, encoding);
    },
    // Offered only when the base has it, so the store's fallback to readFile() stays reachable.
    ...(baseReadFileSync && {
      readFileSync(path: string, encoding: 'utf8'): string {
        check('readFile', path);
        return baseReadFileSync(path, encoding);
      },
    }),
    async readdir(path) {
      check('readdir', path);
      return base.readdir(path);
    },
    async rename(from, to) {
      check('rename', from);
      return base.rename(from, to);
    },
    async unlink(path) {
      check('unlink', path);
      return base.unlink(path);
    },
    async mkdir(path, opts) {
      check('mkdir', path);
      return base.mkdir(path, opts);
    },
  };
}
