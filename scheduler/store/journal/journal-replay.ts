/**
 * Reading the journal back at start: every segment still on disk, oldest first, folded into the
 * newest state per execution (and per execution's logs) that it holds. Entries count only when
 * their batch's commit line follows them: a batch torn by a crash was never acknowledged.
 *
 * It must never throw on a damaged segment (it logs and skips what it cannot trust, like the
 * loader's quarantine), never reorder entries, and never write anything: file-store.ts applies
 * the result.
 */
import { basename } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import { isExecutionId } from '../../../common/names.js';
import type { Execution, ExecutionLogs } from '../../../common/records.js';
import { segmentNumber, type Layout } from '../files/layout.js';
import { checkExecution, checkLogs } from '../load/record-shape.js';
import { errnoCode, type StoreFs } from '../files/store-fs.js';

export interface ReplayContext {
  layout: Layout;
  fs: StoreFs;
  log: Logger;
}

export interface JournalReplay {
  /** Segments found, oldest first. They stay on disk until a checkpoint has synced their files. */
  segments: number[];
  /** Newest state per execution id; null: deleted (its logs too). Map order is first-touch order. */
  executions: Map<string, Execution | null>;
  /** Newest logs per execution id; null: deleted. */
  logs: Map<string, ExecutionLogs | null>;
  /** Highest seq seen, so new entries continue after it. */
  lastSeq: number;
  /** Committed entries applied. */
  entries: number;
  /** Entries skipped: torn tail, corrupt lines, bad shapes. */
  skipped: number;
}

type Entry = { s: number; t: 'exec'; rec: Execution } | { s: number; t: 'logs'; rec: ExecutionLogs } | { s: number; t: 'del'; id: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entry a parsed line holds, 'commit' for a commit line, or null when it is not a known shape. */
function classify(v: unknown): Entry | 'commit' | null {
  if (!isObject(v)) return null;
  if (v.t === 'commit') return 'commit';
  if (typeof v.s !== 'number') return null;
  if (v.t === 'exec' && isObject(v.rec) && checkExecution(v.rec, String(v.rec.id)) === null) return v as Entry;
  if (v.t === 'logs' && isObject(v.rec) && checkLogs(v.rec, String(v.rec.executionId)) === null) return v as Entry;
  if (v.t === 'del' && isExecutionId(v.id)) return v as Entry;
  return null;
}

/** Lists the journal's segments, oldest first. */
export async function listSegments(ctx: ReplayContext): Promise<number[]> {
  const found: number[] = [];
  for (const name of await ctx.fs.readdir(ctx.layout.dir('journal'))) {
    const n = segmentNumber(name);
    if (n === null) ctx.log.warn({ file: `journal/${name}` }, 'ignoring a file that is not a journal segment');
    else found.push(n);
  }
  return found.sort((a, b) => a - b);
}

export async function readJournal(ctx: ReplayContext): Promise<JournalReplay> {
  const result: JournalReplay = { segments: [], executions: new Map(), logs: new Map(), lastSeq: 0, entries: 0, skipped: 0 };
  result.segments = await listSegments(ctx);

  const apply = (e: Entry): void => {
    result.entries += 1;
    if (e.t === 'exec') result.executions.set(e.rec.id, e.rec);
    else if (e.t === 'logs') result.logs.set(e.rec.executionId, e.rec);
    else {
      result.executions.set(e.id, null);
      result.logs.set(e.id, null);
    }
  };

  for (const n of result.segments) {
    const path = ctx.layout.segmentFile(n);
    const file = `journal/${basename(path)}`;
    let text: string;
    try {
      text = await ctx.fs.readFile(path, 'utf8');
    } catch (err) {
      // Its records cannot be recovered from here; the segment stays for a person to inspect.
      if (errnoCode(err) !== 'ENOENT') ctx.log.error({ file, code: errnoCode(err) }, 'journal segment unreadable, skipped');
      continue;
    }
    const lines = text.split('\n');
    // A segment ends with '\n'; anything after the last one is a line torn by a crash.
    const torn = lines.pop() ?? '';
    let batch: Entry[] = [];
    let broken = false;
    for (const line of lines) {
      if (line.length === 0) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      const kind = classify(value);
      if (kind === 'commit') {
        if (!broken) batch.forEach(apply);
        else result.skipped += batch.length;
        batch = [];
        broken = false;
        continue;
      }
      if (kind === null) {
        // Not a torn tail (a newline follows it): the whole batch it belongs to is untrusted.
        ctx.log.error({ file }, 'corrupt journal line, skipping its batch');
        broken = true;
        result.skipped += 1;
        continue;
      }
      if (kind.s > result.lastSeq) result.lastSeq = kind.s;
      batch.push(kind);
    }
    if (torn.length > 0 || batch.length > 0) {
      // A crash during an append: that batch was never acknowledged.
      result.skipped += batch.length + (torn.length > 0 ? 1 : 0);
      ctx.log.warn({ file, entries: batch.length, tornBytes: torn.length }, 'ignoring the torn tail of a journal segment');
    }
  }
  return result;
}
