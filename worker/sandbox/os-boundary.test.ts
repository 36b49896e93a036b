/**
 * Attacks on the OS boundary (isolation.ts) and the limits that count real use, each performed by
 * function code in a real sandbox: what Node's permission model alone let through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultRuntimePath } from './pool-options.js';
import { cpuTimeMs, innermostPid } from './proc-stats.js';
import { SANDBOX_UID } from './isolation.js';
import type { RunOutcome, SandboxPool } from './types.js';
import { closePools, fn, req, startPool } from '../testing/sandbox-fixtures.js';

/** Runs `body` (an async function body with `event` in scope) and returns what it returns. */
async function attack(pool: SandboxPool, body: string, input: unknown = null, over: Parameters<typeof fn>[1] = {}): Promise<unknown> {
  const outcome = await pool.run(req(fn(`export default async (event) => { ${body} };`, over), { inputJson: JSON.stringify(input) }));
  if (!outcome.ok) throw new Error(`run failed: ${outcome.error.code} ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

const errCode = (attempt: string): string => `try { ${attempt}; return 'allowed'; } catch (err) { return err.code ?? String(err); }`;

let victim: ChildProcess;
let server: Server;
let connections = 0;

beforeAll(async () => {
  victim = spawn('sleep', ['60'], { stdio: 'ignore' });
  server = createServer((s) => {
    connections += 1;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  victim.kill('SIGKILL');
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(closePools);

describe('identity and processes', () => {
  it('runs the function as an unprivileged uid/gid that cannot become root', async () => {
    const { pool } = await startPool();
    expect(pool.level).toBe('namespaces');
    const ids = await attack(
      pool,
      `let setuid; try { process.setuid(0); setuid = 'allowed'; } catch (err) { setuid = err.code; } return { uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), setuid };`,
    );
    expect(ids).toEqual({ uid: SANDBOX_UID, gid: SANDBOX_UID, groups: [SANDBOX_UID], setuid: 'EPERM' });
  });

  it('cannot signal any process of the host: not the worker, not a bystander', async () => {
    const { pool } = await startPool();
    const tries = await attack(
      pool,
      `const out = {};
       for (const [k, pid] of Object.entries(event)) { try { process.kill(pid, 'SIGKILL'); out[k] = 'killed'; } catch (err) { out[k] = err.code; } }
       return { ...out, pid: process.pid };`,
      { worker: process.pid, victim: victim.pid },
    );
    // The host's pids do not exist in the sandbox's PID namespace, where the function is pid 2.
    expect(tries).toEqual({ worker: 'ESRCH', victim: 'ESRCH', pid: 2 });
    expect(victim.exitCode).toBeNull();
    expect(victim.signalCode).toBeNull();
  });

  it('SIGUSR1 to its parent opens no inspector anywhere', async () => {
    const { pool } = await startPool();
    // Its parent is bwrap's init, in the sandbox's PID namespace: the worker is out of reach.
    expect(await attack(pool, errCode(`process.kill(process.ppid, 'SIGUSR1')`))).toBe('EPERM');
    const inspector = await import('node:inspector');
    expect(inspector.url()).toBeUndefined();
    const refused = await new Promise<string>((resolve) => {
      const s = createServer();
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      // Binding the inspector's port succeeds only if nobody opened an inspector on it.
      s.listen(9229, '127.0.0.1', () => s.close(() => resolve('free')));
    });
    expect(refused).toBe('free');
  });
});

describe('network', () => {
  it("cannot connect to the host's loopback (the gateway's and scheduler's ports)", async () => {
    const { pool } = await startPool();
    const port = (server.address() as { port: number }).port;
    const got = await attack(
      pool,
      `const net = await import('node:net');
       const viaNet = await new Promise((resolve) => { try { const s = net.connect(event.port, '127.0.0.1'); s.on('connect', () => resolve('connected')); s.on('error', (e) => resolve(e.code)); } catch (e) { resolve(e.code); } });
       let viaFetch; try { await fetch('http://127.0.0.1:' + event.port); viaFetch = 'connected'; } catch (e) { viaFetch = e.cause?.code ?? e.code ?? 'failed'; }
       return { viaNet, viaFetch, interfaces: Object.keys((await import('node:os')).networkInterfaces()) };`,
      { port },
    );
    expect(got).toMatchObject({ viaNet: expect.not.stringMatching(/^connected$/), viaFetch: expect.not.stringMatching(/^connected$/) });
    expect(connections).toBe(0);
  });
});

describe('file system', () => {
  it('has a private, writable, size-capped /tmp that no other sandbox sees', async () => {
    const { pool } = await startPool();
    const wrote = await attack(
      pool,
      `const fs = await import('node:fs'); fs.writeFileSync('/tmp/mine', 'secret'); return fs.readFileSync('/tmp/mine', 'utf8');`,
    );
    expect(wrote).toBe('secret');
    expect(await attack(pool, errCode(`(await import('node:fs')).readFileSync('/tmp/mine')`))).toBe('ENOENT');
    const write = (file: string, mib: number): string =>
      `{ const fs = await import('node:fs'); const mb = Buffer.alloc(1 << 20, 1); const fd = fs.openSync('${file}', 'w'); try { for (let i = 0; i < ${mib}; i++) fs.writeSync(fd, mb); } finally { fs.closeSync(fd); } }`;
    // One file past RLIMIT_FSIZE; two that fit it but not the tmpfs together.
    expect(await attack(pool, errCode(write('/tmp/big', 80)))).toBe('EFBIG');
    expect(await attack(pool, errCode(`${write('/tmp/a', 40)}; ${write('/tmp/b', 40)}`))).toBe('ENOSPC');
    expect(existsSync('/tmp/mine')).toBe(false);
  });

  it('sees only stdio and its channel among inherited descriptors, and few files at once', async () => {
    const { pool } = await startPool();
    // Every descriptor the process can fstat: node's own (epoll, eventfd…) are not files.
    const seen = (await attack(
      pool,
      `const fs = await import('node:fs'); const open = []; for (let fd = 0; fd < 1024; fd++) { try { const st = fs.fstatSync(fd); if (st.isFile() || st.isDirectory()) open.push(fd); } catch {} } const files = []; let emfile = null; try { for (let i = 0; i < 1000; i++) files.push(fs.openSync('/tmp/f' + i, 'w')); } catch (err) { emfile = err.code; } const opened = files.length; for (const f of files) fs.closeSync(f); return { open, emfile, opened };`,
    )) as { open: number[]; emfile: string; opened: number };
    expect(seen.open).toEqual([]);
    expect(seen.emfile).toBe('EMFILE');
    expect(seen.opened).toBeLessThan(256);
  });

  it('writes no trace-event file into any directory', async () => {
    const { pool } = await startPool();
    const before = readdirSync(process.cwd());
    const got = await attack(
      pool,
      errCode(
        `const t = (await import('node:trace_events')).createTracing({ categories: ['v8', 'node'] }); t.enable(); await new Promise((r) => setTimeout(r, 100))`,
      ),
    );
    expect(got).toBe('ERR_ACCESS_DENIED');
    expect(readdirSync(process.cwd()).filter((f) => !before.includes(f))).toEqual([]);
    expect(readdirSync(dirname(defaultRuntimePath())).filter((f) => f.startsWith('node_trace'))).toEqual([]);
  });
});

describe('limits that count real use', () => {
  it('kills a function whose Buffers pass memoryMb with OUT_OF_MEMORY, and the pool serves on', async () => {
    const { pool } = await startPool();
    const f = fn(
      `export default async () => { const keep = []; for (let i = 0; i < 32; i++) { keep.push(Buffer.alloc(64 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 5)); } return keep.length; };`,
      { memoryMb: 16 },
    );
    const outcome: RunOutcome = await pool.run(req(f));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'OUT_OF_MEMORY' } });
    expect(!outcome.ok && outcome.error.message).toMatch(
      /^function used too much memory \(resident \d+ MiB; memoryMb 16 allows 16 MiB of heap plus the runtime's own\)$/,
    );
    expect(await attack(pool, 'return 1;')).toBe(1);
  });

  it('gives a warm sandbox no CPU after its handler returned, and runs it again on the next invoke', async () => {
    const { pool, events } = await startPool();
    const f = fn(
      `let ticks = 0; export default async () => { setInterval(() => { const end = Date.now() + 20; while (Date.now() < end); ticks++; }, 1); return ticks; };`,
    );
    expect((await pool.run(req(f))).ok).toBe(true);
    const spawned = events.find((e) => e.type === 'spawned')!;
    const pid = innermostPid(spawned.pid!)!;
    // Stopped once idle for PAUSE_AFTER_IDLE_MS: state T in /proc/<pid>/stat.
    await expect.poll(() => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0], { timeout: 2000 }).toBe('T');
    const before = cpuTimeMs(pid)!;
    // A measurement window, not a wait for an event: the loop left behind would burn ~100 % of a core in it.
    await new Promise((r) => setTimeout(r, 500));
    expect(cpuTimeMs(pid)! - before).toBeLessThanOrEqual(20);
    const again = await pool.run(req(f));
    expect(again).toMatchObject({ ok: true, coldStart: false });
  });

  it("counts node's own memory in the pool's RSS, not bwrap's", async () => {
    const { pool } = await startPool();
    await attack(pool, 'return 1;');
    // bwrap and its init hold ~2 MiB; node alone holds tens of MiB.
    expect(pool.stats().rssBytes).toBeGreaterThan(20 * 1024 * 1024);
  });

  it('reports the CPU time a run used', async () => {
    const { pool } = await startPool();
    // Burns 200 ms of its own CPU time (not of wall time, which a loaded machine would stretch).
    const burn = `export default () => { const t0 = process.cpuUsage(); let n = 0; while (process.cpuUsage(t0).user + process.cpuUsage(t0).system < 200_000) n++; return n > 0; };`;
    const outcome = await pool.run(req(fn(burn)));
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome.cpuMs).toBeGreaterThanOrEqual(150);
    expect(outcome.cpuMs).toBeLessThan(1000);
  });
});

describe('installation path', () => {
  it("runs from an installation under /tmp, which the sandbox's own /tmp must not hide", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-install-'));
    chmodSync(dir, 0o755); // as a checkout's directories are; mkdtemp makes 0700
    try {
      for (const f of ['runtime.js', 'runtime-load.js', 'frames.js']) copyFileSync(join(dirname(defaultRuntimePath()), f), join(dir, f));
      const { pool } = await startPool({ runtimePath: join(dir, 'runtime.js') });
      expect(await attack(pool, 'return process.getuid();')).toBe(SANDBOX_UID);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('insecure', () => {
  it('runs without the OS boundary only when asked, and says so', async () => {
    const { pool } = await startPool({ isolation: 'insecure' });
    expect(pool.level).toBe('insecure');
    expect(await attack(pool, 'return process.getuid();')).toBe(process.getuid!());
  });
});
