/**
 * The hop trace file: a subscriber of the `taskforge:trace:hop` channel (diagnostics.ts) that
 * appends `<epoch ms, µs precision> <mark>` lines to a file, the format bench/tools/hops.ts reads.
 * Each process's entry point installs it only when TASKFORGE_TRACE_FILE names a file, so every
 * process of the stack that inherits the variable writes to the same file.
 *
 * Lines are buffered and appended every 250 ms, once 4,096 are waiting, and at exit. It must
 * never throw into the code that published a mark: a diagnostic never takes the process down.
 */
import diagnostics from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';
import { CHANNEL_NAMES, type HopMessage } from './diagnostics.js';

/** The environment variable that turns the trace file on. */
export const TRACE_FILE_ENV = 'TASKFORGE_TRACE_FILE';

const FLUSH_MS = 250;
const MAX_BUFFERED = 4_096;

export interface HopTraceFile {
  readonly file: string;
  /** Appends the buffered lines now. */
  flush(): void;
  /** Unsubscribes, stops the flush timer and appends what is left. Idempotent. */
  close(): void;
}

/** One line of the trace file. */
export const hopLine = (m: HopMessage): string => `${m.timeMs.toFixed(3)} ${m.mark}\n`;

/** Subscribes to the hop channel and writes every mark to `file`. */
export function installHopTraceFile(file: string): HopTraceFile {
  let lines: string[] = [];
  let closed = false;
  const flush = (): void => {
    if (lines.length === 0) return;
    const out = lines.join('');
    lines = [];
    try {
      appendFileSync(file, out);
    } catch {
      // A diagnostic must never take the process down.
    }
  };
  const onMessage = (message: unknown): void => {
    lines.push(hopLine(message as HopMessage));
    if (lines.length >= MAX_BUFFERED) flush();
  };
  diagnostics.subscribe(CHANNEL_NAMES.hop, onMessage);
  const timer = setInterval(flush, FLUSH_MS);
  timer.unref();
  process.on('exit', flush);
  return {
    file,
    flush,
    close() {
      if (closed) return;
      closed = true;
      diagnostics.unsubscribe(CHANNEL_NAMES.hop, onMessage);
      clearInterval(timer);
      process.off('exit', flush);
      flush();
    },
  };
}

/** Installs the trace file named by TASKFORGE_TRACE_FILE, if any; for process entry points. */
export function installHopTraceFileFromEnv(env: NodeJS.ProcessEnv = process.env): HopTraceFile | null {
  const file = env[TRACE_FILE_ENV];
  return file ? installHopTraceFile(file) : null;
}
