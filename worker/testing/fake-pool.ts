/**
 * A SandboxPool for agent tests: every run waits until the test finishes it (or aborts it), so
 * tests decide exactly when Started, logs and the outcome happen. It never starts a process.
 */
import type { LogLine } from '../../common/records.js';
import type { RunError, RunOutcome, RunRequest, SandboxPool, SandboxPoolStats } from '../sandbox/types.js';

export interface FakeRun {
  req: RunRequest;
  /** The abort reason once the agent aborted this run. */
  abortedWith: unknown;
  started(info?: Partial<{ coldStart: boolean; initMs: number; startedAtMs: number }>): void;
  log(message: string, stream?: 'stdout' | 'stderr', truncated?: boolean): void;
  succeed(outputJson?: string): void;
  fail(error: RunError): void;
  /** Settles once the agent's pool.run call has returned. */
  settled: Promise<void>;
}

export class FakePool implements SandboxPool {
  readonly level = 'insecure' as const;
  readonly runs: FakeRun[] = [];
  started = false;
  closed = false;
  warm: string[] = ['hello@1'];
  /** When set, every run finishes on its own with this output right after it starts. */
  autoSucceed: string | null = null;
  #waiters: Array<() => void> = [];

  async start(): Promise<void> {
    this.started = true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  stats(): SandboxPoolStats {
    const busy = this.runs.filter((r) => r.abortedWith === undefined).length;
    return { processes: busy, busy, idle: 0, prewarmed: 0, warm: [...this.warm], rssBytes: 1234 };
  }

  run(req: RunRequest): Promise<RunOutcome> {
    let resolve!: (o: RunOutcome) => void;
    let markSettled!: () => void;
    const outcome = new Promise<RunOutcome>((r) => (resolve = r));
    const settled = new Promise<void>((r) => (markSettled = r));
    let startedInfo = { coldStart: true, initMs: 5, startedAtMs: Date.now() };
    let done = false;
    const finish = (o: { ok: true; outputJson: string } | { ok: false; error: RunError }): void => {
      if (done) return;
      done = true;
      const now = Date.now();
      resolve({ ...startedInfo, durationMs: now - startedInfo.startedAtMs, finishedAtMs: now, logsTruncated: false, ...o });
      setImmediate(markSettled);
    };
    const run: FakeRun = {
      req,
      abortedWith: undefined,
      started: (info) => {
        startedInfo = { ...startedInfo, ...info };
        req.onStarted?.(startedInfo);
      },
      log: (message, stream = 'stdout', truncated = false) => {
        const line: LogLine = { ts: new Date().toISOString(), stream, message };
        req.onLog?.([line], truncated, 0);
      },
      succeed: (outputJson = '{"ok":true}') => finish({ ok: true, outputJson }),
      fail: (error) => finish({ ok: false, error }),
      settled,
    };
    req.signal?.addEventListener('abort', () => {
      run.abortedWith = req.signal?.reason;
      finish({ ok: false, error: { code: 'CANCELLED', message: 'execution cancelled' } });
    });
    this.runs.push(run);
    for (const wake of this.#waiters.splice(0)) wake();
    if (this.autoSucceed !== null) {
      const output = this.autoSucceed;
      queueMicrotask(() => {
        run.started();
        run.succeed(output);
      });
    }
    return outcome;
  }

  /** The run for an execution id, waiting for it to be dispatched if needed. */
  async waitForRun(executionId: string, timeoutMs = 5000): Promise<FakeRun> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.runs.find((r) => r.req.executionId === executionId);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no run for ${executionId} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
