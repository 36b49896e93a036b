import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { descendantPids, sandboxMemory } from './proc-memory.js';

const kids: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const k of kids.splice(0)) process.kill(-k.pid!, 'SIGKILL'); // its process group: the wrapper and its child
});

describe('proc memory', () => {
  it('finds a grandchild, and reports a sandbox by its largest process (the node under the wrappers)', async () => {
    // A wrapper (small) that starts a child holding ~64 MiB, and prints that child's pid.
    const holder = `const b = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000);`;
    const wrapper = `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(holder)}], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', wrapper], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    kids.push(child);
    const grandchild = Number(await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    await new Promise((r) => setTimeout(r, 500));
    expect(descendantPids(process.pid)).toEqual(expect.arrayContaining([child.pid, grandchild]));
    const m = sandboxMemory(child.pid!);
    expect(m?.pid).toBe(grandchild);
    expect(m!.rssBytes).toBeGreaterThan(64 * 1024 * 1024);
  });
});
