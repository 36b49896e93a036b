/**
 * Hop tracing: timestamps at the points where a sync invoke crosses a process or a queue, for
 * finding where the latency of one request goes (`node dist/bench/tools/hops.js`). Off unless
 * TASKFORGE_TRACE_FILE names a file; then every process of the stack that inherits it appends
 * lines `<epoch ms, µs precision> <mark>` to that file, buffered and flushed every 250 ms and at exit.
 * Wall-clock epoch time is shared by every process on the host, so marks of different processes
 * can be put in one order. Off, a mark costs one branch.
 */
import { appendFileSync } from 'node:fs';

export type HopMark =
  | 'G0 gateway onRequest'
  | 'G1 gateway route'
  | 'G2 gateway session write'
  | 'S1 scheduler session read'
  | 'S2 scheduler execute write'
  | 'W1 worker execute read'
  | 'W2 worker ipc send'
  | 'W3 worker ipc receive'
  | 'W4 worker result write'
  | 'S3 scheduler result read'
  | 'S4 scheduler session reply'
  | 'G3 gateway reply read'
  | 'G4 gateway onResponse';

export interface HopTrace {
  readonly enabled: boolean;
  mark(what: HopMark): void;
  flush(): void;
}

const FLUSH_MS = 250;
const MAX_BUFFERED = 4_096;

export function createHopTrace(file: string | undefined, now: () => number = () => performance.timeOrigin + performance.now()): HopTrace {
  if (!file) return { enabled: false, mark: () => undefined, flush: () => undefined };
  let lines: string[] = [];
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
  return {
    enabled: true,
    mark(what) {
      lines.push(`${now().toFixed(3)} ${what}\n`);
      if (lines.length >= MAX_BUFFERED) flush();
    },
    flush,
  };
}

/** The process-wide trace, configured from the environment once. */
export const hopTrace: HopTrace = createHopTrace(process.env.TASKFORGE_TRACE_FILE);

if (hopTrace.enabled) {
  setInterval(hopTrace.flush, FLUSH_MS).unref();
  process.on('exit', hopTrace.flush);
}
