/**
 * `<data-dir>/cron-state.json`: for each cron trigger, the time its ticks are counted from — the
 * last tick that fired, or when the trigger was first seen. One small human-readable file,
 * replaced atomically and fsynced (atomic-write.ts), so a crash leaves the old state or the new.
 *
 * A tick's execution is made durable before this file says the tick fired; a crash between the
 * two is covered by the execution's idempotency key (scheduler/triggers/cron.ts). A file that
 * cannot be read is reported and treated as empty: triggers then count from now, which may skip
 * a catch-up run but never runs a tick twice.
 */
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { isFunctionName } from '../../common/names.js';
import { isTempFileName, writeFileAtomic } from './files/atomic-write.js';
import { errnoCode, nodeStoreFs, type StoreFs } from './files/store-fs.js';

export const CRON_STATE_FILE = 'cron-state.json';

/** One trigger's bookkeeping: ticks after `afterMs` are due. */
export interface CronMark {
  function: string;
  afterMs: number;
}

export interface CronStateFile {
  readonly path: string;
  read(): Promise<Map<string, CronMark>>;
  /** Replaces the whole state; resolves once durable. */
  write(marks: ReadonlyMap<string, CronMark>): Promise<void>;
}

const KEY_RE = /^[a-z][a-z0-9-]{0,62}:[0-9a-f]{16}$/;

/** Whether a stored entry is one a trigger can have (every backend checks what it loads with this). */
export const isCronMark = (key: string, m: { function: unknown; afterMs: number }): m is CronMark =>
  KEY_RE.test(key) && isFunctionName(m.function) && !Number.isNaN(m.afterMs);

export function createCronStateFile(dataDir: string, log: Logger, fs: StoreFs = nodeStoreFs): CronStateFile {
  const path = join(dataDir, CRON_STATE_FILE);
  return {
    path,
    async read() {
      const marks = new Map<string, CronMark>();
      // A write that died before its rename leaves its temp file beside the target.
      try {
        for (const name of await fs.readdir(dataDir)) {
          if (isTempFileName(name) && name.startsWith(`.${CRON_STATE_FILE}.`)) await fs.unlink(join(dataDir, name)).catch(() => undefined);
        }
      } catch {
        // no data dir yet: nothing to sweep
      }
      let text: string;
      try {
        text = await fs.readFile(path, 'utf8');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return marks;
        log.warn({ code: errnoCode(err), path }, 'cron state unreadable: triggers count from now');
        return marks;
      }
      try {
        const parsed = JSON.parse(text) as { triggers?: Record<string, { function?: unknown; after?: unknown }> };
        for (const [key, v] of Object.entries(parsed.triggers ?? {})) {
          const mark = { function: v.function, afterMs: typeof v.after === 'string' ? Date.parse(v.after) : NaN };
          if (isCronMark(key, mark)) marks.set(key, mark);
        }
      } catch {
        log.warn({ path }, 'cron state is not valid JSON: triggers count from now');
      }
      return marks;
    },
    async write(marks) {
      const triggers: Record<string, { function: string; after: string }> = {};
      for (const [key, m] of [...marks].sort(([a], [b]) => (a < b ? -1 : 1)))
        triggers[key] = { function: m.function, after: new Date(m.afterMs).toISOString() };
      await writeFileAtomic(path, JSON.stringify({ version: 1, triggers }, null, 2) + '\n', { fsync: true, fs });
    },
  };
}
