/**
 * Cron state on PostgreSQL: the CronStateFile interface (cron-state-file.ts) over the
 * `cron_state` table, one row per trigger (`trigger`, `function`, `after`). write() replaces the
 * whole state in one transaction, as the file is replaced whole; it resolves after the COMMIT.
 *
 * As with the file, a state that cannot be read is reported and treated as empty (triggers count
 * from now: a catch-up run may be skipped, a tick never runs twice), and a row of the wrong shape
 * is skipped.
 */
import type { Logger } from '../../../common/logger.js';
import { isCronMark, type CronMark, type CronStateFile } from '../cron-state-file.js';
import type { StateDatabase } from './state-db.js';

export function createPostgresCronState(db: StateDatabase, log: Logger): CronStateFile {
  const path = 'the cron_state table';
  return {
    path,
    async read() {
      const marks = new Map<string, CronMark>();
      let rows: Array<{ trigger: string; function: string; after: Date }>;
      try {
        rows = await db.query('SELECT trigger, function, after FROM cron_state ORDER BY trigger');
      } catch (err) {
        log.warn({ err: (err as Error).message, path }, 'cron state unreadable: triggers count from now');
        return marks;
      }
      for (const r of rows) {
        const mark = { function: r.function, afterMs: r.after.getTime() };
        if (isCronMark(r.trigger, mark)) marks.set(r.trigger, mark);
      }
      return marks;
    },
    async write(marks) {
      const entries = [...marks].sort(([a], [b]) => (a < b ? -1 : 1));
      await db.transaction(async (client) => {
        await client.query('DELETE FROM cron_state');
        if (entries.length === 0) return;
        await client.query('INSERT INTO cron_state (trigger, function, after) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])', [
          entries.map(([k]) => k),
          entries.map(([, m]) => m.function),
          entries.map(([, m]) => new Date(m.afterMs).toISOString()),
        ]);
      });
    },
  };
}
