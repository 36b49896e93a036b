/**
 * A pino logger that keeps every line in memory, so tests assert on what a component logged
 * (and wait for a line) instead of reading the console.
 */
import { pino, type Logger } from 'pino';

export type LogLine = Record<string, unknown> & { msg?: string; level: number };

export interface MemoryLog {
  logger: Logger;
  lines: LogLine[];
  /** Lines matching `match` so far. */
  find(match: (line: LogLine) => boolean): LogLine[];
  /** Resolves with the first line (already logged or future) matching `match`; rejects after `ms`. */
  waitFor(match: (line: LogLine) => boolean, ms: number, what?: string): Promise<LogLine>;
}

export function memoryLog(level = 'info'): MemoryLog {
  const lines: LogLine[] = [];
  const watchers = new Set<(line: LogLine) => void>();
  const stream = {
    write(chunk: string): void {
      for (const text of chunk.split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const w of [...watchers]) w(line);
      }
    },
  };
  const logger = pino({ level }, stream);
  const find = (match: (line: LogLine) => boolean): LogLine[] => lines.filter(match);
  const waitFor = (match: (line: LogLine) => boolean, ms: number, what = 'log line'): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const seen = lines.find(match);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => {
        watchers.delete(watch);
        reject(new Error(`no ${what} within ${ms} ms`));
      }, ms);
      const watch = (line: LogLine): void => {
        if (!match(line)) return;
        clearTimeout(timer);
        watchers.delete(watch);
        resolve(line);
      };
      watchers.add(watch);
    });
  return { logger, lines, find, waitFor };
}
