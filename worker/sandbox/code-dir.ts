/**
 * Where function code lives on the worker, as real files (so `import.meta.url` is a `file:` URL
 * and `createRequire(import.meta.url)` works), and where V8's compiled code for each function
 * version is kept (so a cold start parses a large bundle once per worker, not once per process).
 *
 *   <root>/versions/<digest>/<name>@<version>.<mjs|cjs>   written once per version, mode 0444
 *   <root>/versions/<digest>/cache/<node's subdir>/<entry>   the compile cache of that version
 *   <root>/sandboxes/<n>/                                  one per process: what it may read
 *
 * A process is spawned before it knows its function (prewarmed), so it gets its own empty
 * directory, bound read-only at /code inside the OS boundary; at load the worker hard-links the
 * version's file (and cache, once there is one) into it. A process therefore sees its own
 * function's code and nothing of any other function's, and cannot change what it sees.
 *
 * The compile cache is produced by the first process that loads a version (node's module compile
 * cache, in its private /tmp) and handed back with its `loaded` reply; later processes of the
 * same version read it from /code/cache. What that first process sends is code-derived data of
 * that same version only, used only by processes that run that same code: a function can spoil
 * its own cache (V8 then rejects it and compiles again), never another function's.
 */
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync, copyFileSync, existsSync, readdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompileCacheEntry, ModuleFormat } from './messages.js';

/** Inside the OS boundary, the process's code directory is always here. */
export const SANDBOX_CODE_DIR = '/code';
/** Caps on what a process may hand back as its compile cache. */
export const COMPILE_CACHE_LIMITS = { entries: 8, bytes: 8 * 1024 * 1024 } as const;
/** Node names its cache files `<subdir>/<file>` (version, arch, flags hash / a hash of the module). */
const ENTRY_PATH = /^[A-Za-z0-9._-]{1,128}\/[A-Za-z0-9._-]{1,128}$/;

export interface PlacedCode {
  /** The file to load, as the process sees it. */
  path: string;
  /** The compile cache: read an existing one, or write one and send it back. */
  compileCache: { dir: string; mode: 'read' | 'write' } | null;
}

export interface CodeFunction {
  name: string;
  version: number;
  codeSha256: string;
  code: string;
}

export class CodeDirectory {
  readonly root: string;
  #next = 0;
  /** Versions whose compile cache is stored (or being produced), by digest. */
  #cached = new Set<string>();
  #producing = new Set<string>();

  constructor(parent: string = tmpdir()) {
    this.root = mkdtempSync(join(parent, 'taskforge-code-'));
    mkdirSync(join(this.root, 'versions'));
    mkdirSync(join(this.root, 'sandboxes'));
  }

  /** A new empty directory for one process: traversable by the sandbox's uid, writable by nobody there. */
  createSandboxDir(): string {
    const dir = join(this.root, 'sandboxes', String(++this.#next));
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755); // the umask may have taken bits away
    return dir;
  }

  removeSandboxDir(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Puts `fn`'s code (and its compile cache when `useCache`) into a process's directory and says
   * where the process finds them. `visibleDir` is how the process names that directory.
   */
  place(sandboxDir: string, visibleDir: string, fn: CodeFunction, format: ModuleFormat, useCache: boolean): PlacedCode {
    const digest = versionDigest(fn);
    const versionDir = join(this.root, 'versions', digest);
    const file = `${fn.name}@${fn.version}.${format === 'esm' ? 'mjs' : 'cjs'}`;
    const source = join(versionDir, file);
    if (!existsSync(source)) {
      mkdirSync(versionDir, { recursive: true, mode: 0o755 });
      const tmp = `${source}.${process.pid}.tmp`;
      writeFileSync(tmp, fn.code, { mode: 0o444 });
      renameSync(tmp, source);
    }
    linkOrCopy(source, join(sandboxDir, file));
    const path = `${visibleDir}/${file}`;
    if (!useCache) return { path, compileCache: null };
    if (this.#cached.has(digest)) {
      copyTree(join(versionDir, 'cache'), join(sandboxDir, 'cache'));
      return { path, compileCache: { dir: `${visibleDir}/cache`, mode: 'read' } };
    }
    if (this.#producing.has(digest)) return { path, compileCache: null };
    this.#producing.add(digest);
    return { path, compileCache: { dir: '/tmp/.taskforge-compile-cache', mode: 'write' } };
  }

  /**
   * Stores the compile cache a process produced for `fn`. Anything malformed is dropped (the
   * version simply stays uncached until another process produces one); never throws.
   * Returns whether it was stored.
   */
  storeCache(fn: CodeFunction, entries: unknown): boolean {
    const digest = versionDigest(fn);
    this.#producing.delete(digest);
    const valid = validEntries(entries);
    if (!valid) return false;
    const dir = join(this.root, 'versions', digest, 'cache');
    const tmp = `${dir}.${process.pid}.tmp`;
    try {
      rmSync(tmp, { recursive: true, force: true });
      for (const { path, data } of valid) {
        const [sub, name] = path.split('/') as [string, string];
        mkdirSync(join(tmp, sub), { recursive: true, mode: 0o755 });
        writeFileSync(join(tmp, sub, name), data, { mode: 0o444 });
      }
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      this.#cached.add(digest);
      return true;
    } catch {
      rmSync(tmp, { recursive: true, force: true });
      return false;
    }
  }

  /** A process that was to produce a cache died or failed to load: let the next one try. */
  abandonCache(fn: CodeFunction): void {
    this.#producing.delete(versionDigest(fn));
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** One directory per exact code: a name, a version and the code's hash. */
function versionDigest(fn: CodeFunction): string {
  return createHash('sha256').update(`${fn.name}\0${fn.version}\0${fn.codeSha256}`).digest('hex').slice(0, 32);
}

function validEntries(entries: unknown): { path: string; data: Buffer }[] | null {
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > COMPILE_CACHE_LIMITS.entries) return null;
  const out: { path: string; data: Buffer }[] = [];
  let bytes = 0;
  for (const entry of entries as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return null;
    const { path, data } = entry as Partial<CompileCacheEntry>;
    if (typeof path !== 'string' || !ENTRY_PATH.test(path) || path.split('/').some((part) => part === '.' || part === '..')) return null;
    if (typeof data !== 'string') return null;
    const buf = Buffer.from(data, 'base64');
    bytes += buf.length;
    if (bytes > COMPILE_CACHE_LIMITS.bytes) return null;
    out.push({ path, data: buf });
  }
  return out;
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    copyFileSync(from, to);
  }
}

/** The cache tree is two levels deep (node's subdirectory, then entries); files are hard-linked. */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const sub of readdirSync(from, { withFileTypes: true })) {
    if (!sub.isDirectory()) continue;
    mkdirSync(join(to, sub.name), { recursive: true, mode: 0o755 });
    for (const file of readdirSync(join(from, sub.name))) linkOrCopy(join(from, sub.name, file), join(to, sub.name, file));
  }
}
