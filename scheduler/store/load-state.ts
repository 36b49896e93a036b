/**
 * Start-up of the file store: create the layout, sweep temp files a crash left behind, and read
 * every function and execution back, many files at a time. A file that cannot be trusted is moved
 * into quarantine/ with a warning and start-up goes on: one bad file must never keep the
 * scheduler down, and it must never be deleted, since a person may want to repair it.
 */
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { isExecutionId, isFunctionName } from '../../common/names.js';
import type { Execution } from '../../common/records.js';
import { isTempFileName } from './atomic-write.js';
import { LAYOUT_DIRS, recordKey, type Layout, type LayoutDir } from './layout.js';
import { mapLimited } from './limiter.js';
import { checkExecution, checkFunction, QUARANTINE_REASON, type QuarantineReason } from './record-shape.js';
import { errnoCode, type StoreFs } from './store-fs.js';
import type { LoadedState, StoredFunction } from './types.js';

export interface LoadContext {
  layout: Layout;
  fs: StoreFs;
  log: Logger;
  /** Files read at once. */
  readConcurrency: number;
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

async function readRecord<T>(
  ctx: LoadContext,
  dir: LayoutDir,
  file: string,
  validKey: (key: string) => boolean,
  check: (value: unknown, key: string) => QuarantineReason | null,
): Promise<Loaded<T>> {
  const key = recordKey(file);
  if (key === null || !validKey(key)) {
    return { ok: false, file: await quarantineFile(ctx, dir, file, QUARANTINE_REASON.badFileName) };
  }
  let text: string;
  try {
    text = await ctx.fs.readFile(join(ctx.layout.dir(dir), file), 'utf8');
  } catch (err) {
    // Deleted between readdir and read: nothing to load, nothing to move.
    if (errnoCode(err) === 'ENOENT') return { ok: false, file: null };
    return { ok: false, file: await quarantineFile(ctx, dir, file, QUARANTINE_REASON.unreadable) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, file: await quarantineFile(ctx, dir, file, QUARANTINE_REASON.badJson) };
  }
  const problem = check(value, key);
  if (problem) return { ok: false, file: await quarantineFile(ctx, dir, file, problem) };
  return { ok: true, record: value as T };
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

  const fnResults = await mapLimited(fnDir.names, ctx.readConcurrency, (file) =>
    readRecord<StoredFunction>(ctx, 'functions', file, isFunctionName, checkFunction),
  );
  const exResults = await mapLimited(exDir.names, ctx.readConcurrency, (file) =>
    readRecord<Execution>(ctx, 'executions', file, isExecutionId, checkExecution),
  );

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
  executions.sort((a, b) =>
    a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  for (const fn of functions) fn.versions.sort((a, b) => a.version - b.version);

  const sweptTempFiles = fnDir.swept + exDir.swept + logDir.swept;
  ctx.log.info(
    { functions: functions.length, executions: executions.length, quarantined: quarantined.length, sweptTempFiles },
    'store loaded',
  );
  return { functions, executions, quarantined, sweptTempFiles };
}
