/**
 * The CPU-bound scenario's own ceiling, measured in the same run: the same handler, with the same
 * iterations, called back to back in `processes` plain Node processes (one per core) — no
 * gateway, scheduler, worker or IPC. What it reaches as a share of cores ÷ cpuMs is what this
 * machine gives CPU-bound work at all; TaskForge's figure is shown beside it.
 */
import { fork } from 'node:child_process';
import { libChildScript } from './proc.js';

const BURN_CHILD = libChildScript('burn-child');

export interface BareCpuRate {
  processes: number;
  seconds: number;
  /** Handler calls completed by all processes together. */
  runs: number;
  perSecond: number;
}

/**
 * Starts `processes` children, waits until every one has loaded the handler, lets them all run for
 * `seconds`, and sums their calls. Rejects, naming the exit, if a child dies before it reports;
 * `script` replaces the burn child (tests).
 */
export async function bareCpuRate(iterations: number, processes: number, seconds: number, script = BURN_CHILD): Promise<BareCpuRate> {
  const children = Array.from({ length: processes }, () =>
    fork(script, [String(iterations), String(seconds)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
  );
  try {
    const outcomes = children.map((child) => {
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      const result = new Promise<number>((resolve, reject) => {
        child.on('message', (m: unknown) => {
          if (m === 'ready') ready();
          else if (typeof (m as { runs?: unknown })?.runs === 'number') resolve((m as { runs: number }).runs);
        });
        child.on('error', reject);
        child.on('exit', (code, signal) => reject(new Error(`burn child exited (${code ?? signal}) before it reported`)));
      });
      return { isReady, result };
    });
    // A child that dies while loading rejects its result: that must not wait for the others.
    await Promise.race([Promise.all(outcomes.map((o) => o.isReady)), Promise.all(outcomes.map((o) => o.result))]);
    for (const child of children) child.send('go');
    const runs = (await Promise.all(outcomes.map((o) => o.result))).reduce((a, b) => a + b, 0);
    return { processes, seconds, runs, perSecond: runs / seconds };
  } finally {
    for (const child of children) child.kill();
  }
}
