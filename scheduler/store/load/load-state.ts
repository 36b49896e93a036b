/**
 * Start-up of the file store: create the layout, sweep temp files a crash left behind, and read
 * every function and execution back, in slices of blocking reads. (Replaying the journal on top
 * of what is read here is file-store.ts's job.) A file that cannot be trusted is moved
 * into quarantine/ with a warning and start-up goes on: one bad file must never keep the
 * scheduler down, and it must never be deleted, since a person may want to repair it.
 */
import { join } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import { isExecutionId, isFunctionName } from '../../../common/names.js';
import type { Execution } from '../../../common/records.js';
import { isTempFileName } from '../files/atomic-write.js';
import { LAYOUT_DIRS, recordKey, type Layout, type LayoutDir } from '../files/layout.js';
import { mapLimited } from '../files/limiter.js';
import { checkExecution, checkFunction, QUARANTINE_REASON, type QuarantineReason } from './record-shape.js';
import { errnoCode, type StoreFs } from '../files/store-fs.js';
import type { LoadedState, StoredFunction } from '../types.js';

export interface LoadContext {
  layout: Layout;
  fs: StoreFs;
  log: Logger;
  /** Files read at once, when only the asynchronous read is available. */
  readConcurrency: number;
  /** Files read with blocking reads between two yields to the event loop. */
  readSliceSize: number;
}

/** Oldest first (then by id), so re-queued work after a restart runs in arrival order. */
export function sortExecutions(executions: Execution[]): void {
  executions.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

type Loaded<T> = { ok: true; record: T } | { ok: false; file: string | null };

/**
 * Moves `<dir>/<file>` to `quarantine/<dir>.<file>.<timestamp>` and logs where it went. Returns
 * the path relative to the data directory it was moved from, or null if the move itself failed.
 */
export async function quarantineFile(ctx: LoadContext, dir: LayoutDir, file: string, reason: QuarantineReason): Promise<string | null> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = `${dir}.${file}.${stamp}`;
  const from = `${dir}/${file}`;
  try {
    await ctx.fs.rename(join(ctx.layout.dir(dir), file), join(ctx.layout.dir('quarantine'), target));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    ctx.log.error({ file: from, reason, err }, 'could not quarantine store file');
    return null;
  }
  ctx.log.warn({ file: from, quarantinedAs: `quarantine/${target}`, reason }, 'quarantined store file');
  return from;
}

/** What reading one file gave: a record, a reason to quarantine it, or nothing (it vanished). */
type Read<T> = { ok: true; record: T } | { ok: false; reason: QuarantineReason | null };

/** Parses and checks a file's text; shared by the synchronous and the asynchronous read. */
function parseRecord<T>(text: string, key: string, check: (value: unknown, key: string) => QuarantineReason | null): Read<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: QUARANTINE_REASON.badJson };
  }
  const problem = check(value, key);
  return problem ? { ok: false, reason: problem } : { ok: true, record: value as T };
}

const readFailure = (err: unknown): Read<never> =>
  // Deleted between readdir and read: nothing to load, nothing to move.
  ({ ok: false, reason: errnoCode(err) === 'ENOENT' ? null : QUARANTINE_REASON.unreadable });

interface RecordKind {
  dir: LayoutDir;
  validKey: (key: string) => boolean;
  check: (value: unknown, key: string) => QuarantineReason | null;
}

/**
 * Reads every file of one directory. With a synchronous read available, files are read in
 * slices of blocking reads, yielding to the event loop between slices: for many small files that
 * is several times faster than one promise (and one thread-pool hop) per file. Quarantining,
 * rare, is done afterwards.
 */
async function readAll<T>(ctx: LoadContext, kind: RecordKind, names: string[]): Promise<Loaded<T>[]> {
  const dir = ctx.layout.dir(kind.dir);
  const reads = new Array<Read<T>>(names.length);
  const keyOf = (file: string): string | null => {
    const key = recordKey(file);
    return key !== null && kind.validKey(key) ? key : null;
  };
  const readSync = ctx.fs.readFileSync?.bind(ctx.fs);
  if (readSync) {
    const slice = Math.max(1, ctx.readSliceSize);
    for (let start = 0; start < names.length; start += slice) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const end = Math.min(start + slice, names.length);
      for (let i = start; i < end; i++) {
        const file = names[i] as string;
        const key = keyOf(file);
        if (key === null) {
          reads[i] = { ok: false, reason: QUARANTINE_REASON.badFileName };
          continue;
        }
        let text: string;
        try {
          text = readSync(join(dir, file), 'utf8');
        } catch (err) {
          reads[i] = readFailure(err);
          continue;
        }
        reads[i] = parseRecord<T>(text, key, kind.check);
      }
    }
  } else {
    await mapLimited(
      names.map((file, i) => [file, i] as const),
      ctx.readConcurrency,
      async ([file, i]) => {
        const key = keyOf(file);
        if (key === null) {
          reads[i] = { ok: false, reason: QUARANTINE_REASON.badFileName };
          return;
        }
        try {
          reads[i] = parseRecord<T>(await ctx.fs.readFile(join(dir, file), 'utf8'), key, kind.check);
        } catch (err) {
          reads[i] = readFailure(err);
        }
      },
    );
  }
  const results: Loaded<T>[] = [];
  for (let i = 0; i < names.length; i++) {
    const r = reads[i] as Read<T>;
    if (r.ok) results.push(r);
    else results.push({ ok: false, file: r.reason ? await quarantineFile(ctx, kind.dir, names[i] as string, r.reason) : null });
  }
  return results;
}

/** Removes leftover temp files from `dir`; returns the other names and how many were swept. */
async function sweep(ctx: LoadContext, dir: LayoutDir): Promise<{ names: string[]; swept: number }> {
  const names: string[] = [];
  let swept = 0;
  for (const name of await ctx.fs.readdir(ctx.layout.dir(dir))) {
    if (!isTempFileName(name)) {
      names.push(name);
      continue;
    }
    try {
      await ctx.fs.unlink(join(ctx.layout.dir(dir), name));
      swept += 1;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') ctx.log.warn({ file: `${dir}/${name}`, err }, 'could not remove temp file');
    }
  }
  return { names, swept };
}

export async function loadState(ctx: LoadContext): Promise<LoadedState> {
  for (const dir of LAYOUT_DIRS) await ctx.fs.mkdir(ctx.layout.dir(dir), { recursive: true });

  const fnDir = await sweep(ctx, 'functions');
  const exDir = await sweep(ctx, 'executions');
  const logDir = await sweep(ctx, 'logs');

  const fnResults = await readAll<StoredFunction>(ctx, { dir: 'functions', validKey: isFunctionName, check: checkFunction }, fnDir.names);
  const exResults = await readAll<Execution>(ctx, { dir: 'executions', validKey: isExecutionId, check: checkExecution }, exDir.names);

  const functions: StoredFunction[] = [];
  const executions: Execution[] = [];
  const quarantined: string[] = [];
  for (const r of fnResults) {
    if (r.ok) functions.push(r.record);
    else if (r.file) quarantined.push(r.file);
  }
  for (const r of exResults) {
    if (r.ok) executions.push(r.record);
    else if (r.file) quarantined.push(r.file);
  }
  // A stable order, so re-queued work after a restart runs oldest first.
  functions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  sortExecutions(executions);
  for (const fn of functions) fn.versions.sort((a, b) => a.version - b.version);

  const sweptTempFiles = fnDir.swept + exDir.swept + logDir.swept;
  ctx.log.info({ functions: functions.length, executions: executions.length, quarantined: quarantined.length, sweptTempFiles }, 'store loaded');
  return { functions, executions, quarantined, sweptTempFiles };
}
