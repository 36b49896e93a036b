/**
 * How runs end badly against real runtime processes: timeout, out of memory, crash, abort,
 * uncaught exceptions — each with its error code, and the pool serving the next run afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessEvent } from './pool.js';
import { closePools, fn, req, startPool } from '../testing/sandbox-fixtures.js';
import type { RunOutcome } from './types.js';

const pidOf = (outcome: RunOutcome): number => {
  if (!outcome.ok) throw new Error(`run failed: ${outcome.error.code} ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson) as number;
};

const exitOf = (events: ProcessEvent[], pid: number | undefined): ProcessEvent | undefined => events.find((e) => e.type === 'exited' && e.pid === pid);

const PID_FN = 'export default () => process.pid;';
const HANG_FN = 'export default async () => { await new Promise(() => {}); };';

afterEach(closePools);

describe('timeout', () => {
  it('kills an endless loop at the deadline with TIMEOUT, and the pool serves the next run', async () => {
    // A prewarmed process, so the 300 ms go to the loop and not to a fork on a busy machine.
    const { pool, events } = await startPool({ prewarm: 1 });
    const loopPid = events[0]!.pid;
    const looping = fn('export default () => { while (true) {} };', { timeoutMs: 300 });
    let started = false;
    const t = Date.now();
    const outcome = await pool.run(req(looping, { onStarted: () => (started = true) }));
    expect(started).toBe(true);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'TIMEOUT', message: 'timed out after 300 ms' } });
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
    expect(exitOf(events, loopPid)).toMatchObject({ signal: 'SIGKILL', reason: 'timeout' });

    const next = await pool.run(req(fn(PID_FN)));
    expect(pidOf(next)).not.toBe(loopPid);
    // The same version gets a fresh process: a killed one is never reused.
    const again = await pool.run(req(looping));
    expect(again).toMatchObject({ ok: false, coldStart: true, error: { code: 'TIMEOUT' } });
  });

  it('times out a module whose top level never finishes loading', async () => {
    const { pool } = await startPool();
    const outcome = await pool.run(req(fn('while (true) {}\nexport default () => 1;', { timeoutMs: 300 })));
    expect(outcome).toMatchObject({ ok: false, coldStart: true, error: { code: 'TIMEOUT' } });
  });

  it('times out at once when the deadline has already passed, without starting anything', async () => {
    const { pool, events } = await startPool();
    const f = fn(PID_FN);
    const outcome = await pool.run(req(f, { deadlineMs: Date.now() - 1 }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(events).toHaveLength(0);
  });
});

describe('out of memory', () => {
  it('reports OUT_OF_MEMORY when the heap limit of memoryMb is reached', async () => {
    const { pool } = await startPool();
    const bomb = fn('export default () => { const keep = []; for (;;) keep.push(new Array(100000).fill(1.5)); };', { memoryMb: 32 });
    const outcome = await pool.run(req(bomb));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'OUT_OF_MEMORY', message: 'function ran out of memory (heap limit 32 MB)' } });
    expect(pidOf(await pool.run(req(fn(PID_FN))))).toBeGreaterThan(0);
  });
});

describe('crash', () => {
  it('reports SANDBOX_CRASH with the exit code when the function calls process.exit', async () => {
    const { pool, events } = await startPool();
    const f = fn('export default () => { process.exit(3); };');
    const outcome = await pool.run(req(f));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'SANDBOX_CRASH', message: 'runtime process exited with code 3 while the function ran' } });
    expect(events.filter((e) => e.type === 'exited')).toEqual([expect.objectContaining({ code: 3, reason: 'exited' })]);
  });

  it('does not disturb another function running at the same time', async () => {
    const { pool } = await startPool();
    const slow = fn('export default async () => { await new Promise((r) => setTimeout(r, 300)); return process.pid; };');
    const crashing = fn('export default async () => { await new Promise((r) => setTimeout(r, 50)); process.kill(process.pid, "SIGSEGV"); };');
    const [a, b] = await Promise.all([pool.run(req(slow)), pool.run(req(crashing))]);
    expect(pidOf(a)).toBeGreaterThan(0);
    expect(b).toMatchObject({ ok: false, error: { code: 'SANDBOX_CRASH', message: 'runtime process was killed by SIGSEGV while the function ran' } });
  });

  it('fails the invocation on an uncaught exception and retires the process', async () => {
    const { pool, events } = await startPool();
    const f = fn('export default () => new Promise(() => { setTimeout(() => { throw new TypeError("late"); }, 10); });');
    const first = await pool.run(req(f));
    expect(first).toMatchObject({ ok: false, error: { code: 'FUNCTION_ERROR', name: 'TypeError', message: 'late' } });
    await expect.poll(() => events.some((e) => e.type === 'exited' && e.reason === 'fatal')).toBe(true);
    expect((await pool.run(req(f))).coldStart).toBe(true);
  });
});

describe('abort', () => {
  it('kills the process and reports CANCELLED when the signal aborts', async () => {
    const { pool, events } = await startPool();
    const controller = new AbortController();
    const f = fn(HANG_FN);
    const outcome = await pool.run(req(f, { signal: controller.signal, onStarted: () => setTimeout(() => controller.abort('cancel'), 20) }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(events.filter((e) => e.type === 'exited')).toEqual([expect.objectContaining({ signal: 'SIGKILL', reason: 'cancelled' })]);
    expect(pool.stats().processes).toBe(0);
  });

  it('reports WORKER_LOST for a shutdown abort', async () => {
    const { pool } = await startPool();
    const controller = new AbortController();
    const outcome = await pool.run(req(fn(HANG_FN), { signal: controller.signal, onStarted: () => controller.abort('shutdown') }));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'WORKER_LOST' } });
  });

  it('does not start anything for an already aborted signal', async () => {
    const { pool, events } = await startPool();
    const outcome = await pool.run(req(fn(PID_FN), { signal: AbortSignal.abort('cancel') }));
    expect(outcome).toMatchObject({ ok: false, coldStart: false, error: { code: 'CANCELLED' } });
    expect(events).toHaveLength(0);
  });
});

describe('protocol', () => {
  // What a function can write to the channel descriptor itself (fd 3), bypassing the runtime.
  const attack = (write: string): string => `import fs from 'node:fs';
export default async () => { ${write}; await new Promise(() => {}); };`;

  it('kills a process that sends a well-framed message outside the protocol: SANDBOX_PROTOCOL', async () => {
    const { pool, events } = await startPool();
    const f = fn(
      attack(
        "const b = Buffer.from(JSON.stringify({ type: 'result', forged: true })); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); fs.writeSync(3, Buffer.concat([h, b]))",
      ),
    );
    const outcome = await pool.run(req(f));
    expect(outcome).toMatchObject({
      ok: false,
      error: { code: 'SANDBOX_PROTOCOL', message: 'runtime process broke the IPC protocol and was killed: malformed message' },
    });
    expect(events.filter((e) => e.type === 'exited')).toEqual([expect.objectContaining({ reason: 'protocol' })]);
  });

  it('kills a process that writes 64 MiB without framing, and the worker stays up', async () => {
    const { pool, events } = await startPool();
    // Node's IPC parser buffered this looking for a newline until the worker crashed.
    const f = fn(attack('fs.writeSync(3, Buffer.alloc(64 * 1024 * 1024, 0x41))'));
    const outcome = await pool.run(req(f));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'SANDBOX_PROTOCOL' } });
    expect(!outcome.ok && outcome.error.message).toMatch(/frame of \d+ bytes exceeds the 8388608-byte cap/);
    expect(events.filter((e) => e.type === 'exited')).toEqual([expect.objectContaining({ reason: 'protocol' })]);
    expect(pidOf(await pool.run(req(fn(PID_FN))))).toBeGreaterThan(0);
  });

  it('kills a process that floods valid frames past the per-request budget', async () => {
    const { pool } = await startPool();
    const f = fn(
      attack(`const b = Buffer.from(JSON.stringify({ type: 'log', lines: [{ ts: 'x', stream: 'stdout', message: 'a'.repeat(1 << 20) }], truncated: false }));
      const h = Buffer.alloc(4); h.writeUInt32BE(b.length); const frame = Buffer.concat([h, b]);
      for (let i = 0; i < 64; i++) fs.writeSync(3, frame)`),
    );
    const outcome = await pool.run(req(f));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'SANDBOX_PROTOCOL' } });
    expect(!outcome.ok && outcome.error.message).toMatch(/sent more than 33554432 bytes for one request/);
  });

  it('kills a process that sends bytes that are not JSON', async () => {
    const { pool } = await startPool();
    const f = fn(attack('fs.writeSync(3, Buffer.from([0, 0, 0, 3, 0x7b, 0x7b, 0x7b]))'));
    const outcome = await pool.run(req(f));
    expect(outcome).toMatchObject({
      ok: false,
      error: { code: 'SANDBOX_PROTOCOL', message: 'runtime process broke the IPC protocol and was killed: frame is not JSON' },
    });
  });
});
