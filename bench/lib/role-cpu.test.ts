import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cpuPerExecution, readRoleCpu } from './role-cpu.js';

const BURN = 'const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; }; const end = cpu() + 300000; while (cpu() < end);';

describe('role CPU', () => {
  it('counts the CPU of a worker’s children as sandboxes, after they exit too', async () => {
    // This process plays the worker: the child below is its sandbox.
    const pids = { gateway: process.pid, scheduler: process.pid, workers: [process.pid] };
    const before = readRoleCpu(pids);
    const child = spawn(process.execPath, ['-e', BURN], { stdio: 'ignore' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const after = readRoleCpu(pids);
    const sandboxes = after.sandboxes! - before.sandboxes!;
    expect(sandboxes).toBeGreaterThanOrEqual(0.25);
    expect(sandboxes).toBeLessThan(1);
    // The worker's own time is not its children's.
    expect(after.workers! - before.workers!).toBeLessThan(0.25);
  });

  it('counts a live grandchild as a sandbox too (node under bwrap’s wrappers)', async () => {
    const pids = { gateway: process.pid, scheduler: process.pid, workers: [process.pid] };
    const before = readRoleCpu(pids);
    // The child plays the wrapper: it burns nothing itself; the node below it burns, says so, and stays.
    const burner = `${BURN} console.log('burnt'); setInterval(() => {}, 1000);`;
    const wrapper = `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(burner)}], { stdio: ['ignore', 'inherit', 'ignore'] }); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', wrapper], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    try {
      await once(child.stdout, 'data');
      const sandboxes = readRoleCpu(pids).sandboxes! - before.sandboxes!;
      expect(sandboxes).toBeGreaterThanOrEqual(0.25);
      expect(sandboxes).toBeLessThan(1.5);
    } finally {
      process.kill(-child.pid!, 'SIGKILL'); // its own process group: the wrapper and the node below it
    }
  });

  it('divides each part by the executions, and refuses a count of none', () => {
    const before = { gateway: 1, sandboxes: 2 };
    const after = { gateway: 1.5, sandboxes: 7 };
    expect(cpuPerExecution(before, after, 1000)).toEqual([
      { part: 'gateway', us: 500 },
      { part: 'sandboxes', us: 5000 },
    ]);
    expect(() => cpuPerExecution(before, after, 0)).toThrow(/executions must be a positive number, got 0/);
  });
});
