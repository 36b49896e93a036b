/**
 * The pool over time: idle reaping, the process cap and LRU eviction, stats, close, options.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OptionsError } from '../../common/options-error.js';
import { createSandboxPool, resolveSandboxPoolOptions, SANDBOX_POOL_DEFAULTS, type ProcessEvent, type SandboxPoolOptions } from './pool.js';
import { fn, req } from '../testing/sandbox-fixtures.js';
import type { RunOutcome, SandboxFunction, SandboxPool } from './types.js';

const pools: SandboxPool[] = [];
const lifeFn = (code: string, over: Partial<SandboxFunction> = {}): SandboxFunction => fn(code, over, 'life');

/** Records process events and lets a test wait for one (no sleeping). */
class EventLog {
  readonly events: ProcessEvent[] = [];
  live = 0;
  maxLive = 0;
  #waiters: Array<{ match: (e: ProcessEvent) => boolean; resolve: (e: ProcessEvent) => void }> = [];

  readonly push = (e: ProcessEvent): void => {
    this.events.push(e);
    this.live += e.type === 'spawned' ? 1 : -1;
    this.maxLive = Math.max(this.maxLive, this.live);
    this.#waiters = this.#waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true));
  };

  waitFor(match: (e: ProcessEvent) => boolean): Promise<ProcessEvent> {
    const seen = this.events.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}

async function startPool(opts: SandboxPoolOptions = {}): Promise<{ pool: SandboxPool; log: EventLog }> {
  const log = new EventLog();
  // These tests follow processes by the pid a function reports, which only the host's PID
  // namespace shares with the pool's events: pool logic is the same under either isolation.
  const pool = createSandboxPool({ prewarm: 0, isolation: 'insecure', ...opts, onProcessEvent: log.push });
  pools.push(pool);
  await pool.start();
  return { pool, log };
}

const pidOf = (outcome: RunOutcome): number => {
  if (!outcome.ok) throw new Error(`run failed: ${outcome.error.code} ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson) as number;
};

const PID_FN = 'export default () => process.pid;';
const SLOW_PID_FN = 'export default async () => { await new Promise((r) => setTimeout(r, 150)); return process.pid; };';

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('idle reaping', () => {
  it('kills a warm process idle longer than idleTtlMs', async () => {
    const { pool, log } = await startPool({ idleTtlMs: 200 });
    const pid = pidOf(await pool.run(req(lifeFn(PID_FN))));
    const exit = await log.waitFor((e) => e.type === 'exited' && e.pid === pid);
    expect(exit).toMatchObject({ reason: 'reaped', signal: 'SIGKILL' });
    expect(pool.stats()).toMatchObject({ processes: 0, warm: [] });
  });

  it('keeps prewarmed processes (they hold no code)', async () => {
    const { pool, log } = await startPool({ idleTtlMs: 100, prewarm: 1 });
    const prewarmed = log.events[0]!.pid;
    const pid = pidOf(await pool.run(req(lifeFn(PID_FN))));
    expect(pid).toBe(prewarmed);
    const refill = await log.waitFor((e) => e.type === 'spawned' && e.pid !== prewarmed);
    await log.waitFor((e) => e.type === 'exited' && e.pid === pid);
    // Proving that nothing else happens needs time to pass: several reaper periods (TTL 100 ms).
    await new Promise((r) => setTimeout(r, 400));
    expect(log.events.filter((e) => e.type === 'exited')).toHaveLength(1);
    expect(pool.stats().processes).toBe(1);
    expect(refill).toMatchObject({ prewarm: true });
  });
});

describe('maxProcesses', () => {
  it('never has more live processes than the cap; extra runs wait for a free one', async () => {
    const { pool, log } = await startPool({ maxProcesses: 2 });
    const fns = [1, 2, 3, 4].map(() => lifeFn(SLOW_PID_FN));
    const outcomes = await Promise.all(fns.map((f) => pool.run(req(f))));
    for (const o of outcomes) expect(pidOf(o)).toBeGreaterThan(0);
    expect(log.maxLive).toBe(2);
    expect(log.events.filter((e) => e.type === 'exited' && e.reason === 'evicted').length).toBeGreaterThanOrEqual(2);
    expect(pool.stats().processes).toBeLessThanOrEqual(2);
  });

  it('evicts the least recently used idle process to make room', async () => {
    const { pool, log } = await startPool({ maxProcesses: 2 });
    const [a, b, c] = [lifeFn(PID_FN), lifeFn(PID_FN), lifeFn(PID_FN)];
    const pidA = pidOf(await pool.run(req(a)));
    const pidB = pidOf(await pool.run(req(b)));
    pidOf(await pool.run(req(a))); // a is now the most recently used
    await pool.run(req(c));
    expect(log.events.find((e) => e.type === 'exited')).toMatchObject({ pid: pidB, reason: 'evicted' });
    expect(pool.stats().warm).toEqual([a.name, c.name].map((n) => `${n}@1`).sort());
    expect(pidOf(await pool.run(req(a)))).toBe(pidA);
  });

  it('keeps the prewarmed reserve at the cap by evicting the least recently used idle warm process', async () => {
    const { pool, log } = await startPool({ maxProcesses: 3, prewarm: 1, reserveEvictIdleMs: 0 });
    const [a, b, c, d] = [lifeFn(PID_FN), lifeFn(PID_FN), lifeFn(PID_FN), lifeFn(PID_FN)];
    const pidA = pidOf(await pool.run(req(a)));
    pidOf(await pool.run(req(b)));
    pidOf(await pool.run(req(c))); // a, b, c warm: the cap is full, so a goes for the reserve
    expect(await log.waitFor((e) => e.type === 'exited' && e.pid === pidA)).toMatchObject({ reason: 'evicted' });
    const reserve = await log.waitFor(
      (e) => e.type === 'spawned' && e.pid !== pidA && log.events.indexOf(e) > log.events.findIndex((x) => x.type === 'exited'),
    );
    expect(reserve).toMatchObject({ prewarm: true });
    const outcome = await pool.run(req(d));
    expect(outcome).toMatchObject({ coldStart: true });
    expect(pidOf(outcome)).toBe(reserve.pid); // d started from the reserve, not from a fork of its own
    expect(log.maxLive).toBe(3);
  });

  it('does not evict a process used within reserveEvictIdleMs for the reserve', async () => {
    const { pool, log } = await startPool({ maxProcesses: 3, prewarm: 1, reserveEvictIdleMs: 60_000 });
    const [a, b, c] = [lifeFn(PID_FN), lifeFn(PID_FN), lifeFn(PID_FN)];
    const pidA = pidOf(await pool.run(req(a)));
    pidOf(await pool.run(req(b)));
    pidOf(await pool.run(req(c)));
    expect(log.events.filter((e) => e.type === 'exited')).toEqual([]);
    expect(pool.stats().warm).toEqual([a, b, c].map((f) => `${f.name}@1`).sort());
    const again = await pool.run(req(a));
    expect(again).toMatchObject({ coldStart: false });
    expect(pidOf(again)).toBe(pidA);
  });

  it('counts prewarmed processes against the cap', async () => {
    const { pool, log } = await startPool({ maxProcesses: 2, prewarm: 2 });
    await pool.run(req(lifeFn(PID_FN, { memoryMb: 64 })));
    expect(log.maxLive).toBe(2);
  });
});

describe('stats', () => {
  it('reports busy processes, warm versions and RSS', async () => {
    const { pool } = await startPool();
    const f = lifeFn(SLOW_PID_FN);
    const running = pool.run(req(f, { onStarted: () => undefined }));
    await expect.poll(() => pool.stats().busy).toBe(1);
    await running;
    const stats = pool.stats();
    expect(stats).toMatchObject({ processes: 1, busy: 0, warm: [`${f.name}@1`] });
    expect(stats.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
  });
});

describe('close', () => {
  it('kills everything, ends in-flight runs with WORKER_LOST, and is idempotent', async () => {
    const { pool, log } = await startPool({ prewarm: 1 });
    const running = pool.run(req(lifeFn('export default () => new Promise(() => {});')));
    await expect.poll(() => pool.stats().busy).toBe(1);
    const first = pool.close();
    expect(pool.close()).toBe(first);
    await first;
    expect(await running).toMatchObject({ ok: false, error: { code: 'WORKER_LOST' } });
    expect(log.live).toBe(0);
    expect(log.events.filter((e) => e.type === 'exited').every((e) => e.type === 'exited' && e.reason === 'shutdown')).toBe(true);
    expect(await pool.run(req(lifeFn(PID_FN)))).toMatchObject({ ok: false, error: { code: 'WORKER_LOST' } });
  });
});

describe('options', () => {
  it('resolves defaults into a frozen object', () => {
    const o = resolveSandboxPoolOptions();
    expect(o).toMatchObject({ maxProcesses: 16, idleTtlMs: 300_000, prewarm: 2, prewarmMemoryMb: 128 });
    expect(Object.isFrozen(o)).toBe(true);
    expect(SANDBOX_POOL_DEFAULTS.maxProcesses).toBe(16);
    expect(o.runtimePath).toMatch(/dist\/worker\/sandbox\/runtime\.js$/);
  });

  it('rejects invalid values naming the option', () => {
    expect(() => resolveSandboxPoolOptions({ maxProcesses: 0 })).toThrow(/maxProcesses must be an integer ≥ 1/);
    expect(() => resolveSandboxPoolOptions({ reserveEvictIdleMs: -1 })).toThrow(/reserveEvictIdleMs must be an integer ≥ 0, got -1/);
    expect(() => resolveSandboxPoolOptions({ maxProcesses: 2, prewarm: 3 })).toThrow(/prewarm \(3\) must not exceed maxProcesses \(2\)/);
    expect(() => resolveSandboxPoolOptions({ runtimePath: '/nonexistent/runtime.js' })).toThrow(/runtime script not found/);
    expect(() => resolveSandboxPoolOptions({ maxProcesses: 0 })).toThrow(OptionsError);
    expect(() => resolveSandboxPoolOptions({ maxProcesses: 0 })).toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'maxProcesses' }));
    expect(() => resolveSandboxPoolOptions({ maxProcesses: 2, prewarm: 3 })).toThrow(
      expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'prewarm' }),
    );
    expect(() => resolveSandboxPoolOptions({ runtimePath: '/nonexistent/runtime.js' })).toThrow(
      expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'runtimePath' }),
    );
    expect(() => resolveSandboxPoolOptions({ isolation: 'none' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'isolation' }),
    );
  });

  it('refuses to run before start', async () => {
    const pool = createSandboxPool({ prewarm: 0 });
    pools.push(pool);
    await expect(pool.run(req(lifeFn(PID_FN)))).rejects.toThrow('sandbox pool not started');
  });
});
