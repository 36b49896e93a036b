/**
 * Attacks from function code registered through the public API, against the whole stack: the
 * scheduler and gateway in this process, a real `taskforge worker` child with real sandboxes.
 * Each was a way into the cluster before the sandbox had an OS boundary.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/processes.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let scratch: string;
/** Size of the file behind the descriptor the worker inherits: the function looks for exactly it. */
const LEAKED_BYTES = 12_345;
let leakedFd: number;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tf-attacks-'));
  const leaked = join(scratch, 'leaked');
  writeFileSync(leaked, 'x'.repeat(LEAKED_BYTES));
  leakedFd = openSync(leaked, 'r');
  stack = await startStack({ workers: 0 });
  // As if started from a shell with `exec 251<leaked`: the worker inherits fd 251.
  await stack.startWorker({ capacity: 2, inherit: { 251: leakedFd } });
});

afterAll(async () => {
  await stack?.close();
  closeSync(leakedFd);
  await rm(scratch, { recursive: true, force: true });
});

async function run(name: string, body: string, event: unknown = {}): Promise<{ status: number; body: any }> {
  const put = await stack.request('PUT', `/v1/functions/${name}`, fn(`export default async (event) => { ${body} };`, { maxRetries: 0 }));
  expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
  return stack.request('POST', `/v1/functions/${name}/invoke?mode=sync`, event);
}

const schedulerPort = (): number => Number(stack.scheduler.address.split(':').pop());

describe('from inside a function', () => {
  it('cannot reach the gateway or the scheduler over the network', async () => {
    const r = await run(
      'reach',
      `const tries = {};
       for (const [k, url] of Object.entries(event)) { try { const res = await fetch(url); tries[k] = res.status; } catch (err) { tries[k] = err.cause?.code ?? err.code ?? 'failed'; } }
       const h2 = await import('node:http2');
       tries.grpc = await new Promise((resolve) => { try { const c = h2.connect('http://127.0.0.1:' + event.grpcPort); c.on('connect', () => { c.close(); resolve('connected'); }); c.on('error', (e) => resolve(e.code)); } catch (e) { resolve(e.code); } });
       return tries;`,
      { gateway: `${stack.url}/v1/functions`, scheduler: `http://127.0.0.1:${schedulerPort()}/`, grpcPort: schedulerPort() },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    for (const [k, v] of Object.entries(r.body.output as Record<string, unknown>)) {
      expect.soft(typeof v === 'string' && v !== 'connected', `${k}: ${String(v)}`).toBe(true);
    }
  });

  it('cannot see or signal the scheduler, the gateway or the worker', async () => {
    const worker = stack.workers[0]!;
    const r = await run(
      'signal',
      `const out = {};
       for (const [k, pid] of Object.entries(event)) { try { process.kill(pid, 0); out[k] = 'visible'; } catch (err) { out[k] = err.code; } }
       try { process.kill(event.worker, 'SIGUSR1'); out.usr1 = 'sent'; } catch (err) { out.usr1 = err.code; }
       return { ...out, uid: process.getuid() };`,
      { controlPlane: process.pid, worker: worker.proc.pid },
    );
    expect(r.body.output).toEqual({ controlPlane: 'ESRCH', worker: 'ESRCH', usr1: 'ESRCH', uid: 65534 });
    expect(worker.proc.exitCode).toBeNull();
  });

  it('does not inherit the descriptors its worker was started with', async () => {
    const r = await run(
      'fds',
      `const fs = await import('node:fs'); const found = [];
       for (let fd = 0; fd < 1024; fd++) { try { const st = fs.fstatSync(fd); if (st.isFile() && st.size === event.size) found.push(fd); } catch {} }
       return found;`,
      { size: LEAKED_BYTES },
    );
    expect(r.body).toMatchObject({ status: 'succeeded', output: [] });
  });
});

describe('the worker process', () => {
  it('refuses to start where it cannot build the OS boundary, unless told --insecure-sandbox', async () => {
    const args = [
      'worker',
      '--scheduler',
      stack.scheduler.address,
      '--join-token-file',
      stack.scheduler.tokenFiles.join,
      '--bwrap',
      '/nonexistent/bwrap',
      '--log-level',
      'warn',
    ];
    const refused = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    refused.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(refused, 'exit')) as [number];
    expect(code).toBe(2);
    expect(err).toContain('the worker cannot sandbox functions: bubblewrap (bwrap) is not installed at /nonexistent/bwrap');
    expect(err).not.toMatch(/\n\s+at /); // one readable message, no stack

    const insecure = await stack.startWorker({ name: 'insecure', args: ['--bwrap', '/nonexistent/bwrap', '--insecure-sandbox'] });
    expect(insecure.proc.exitCode).toBeNull();
    insecure.proc.kill('SIGKILL');
  });

  it('started by bin/taskforge opens no inspector on SIGUSR1', async () => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // the command itself must carry the flag
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'taskforge');
    const proc = spawn(
      bin,
      ['worker', '--scheduler', stack.scheduler.address, '--join-token-file', stack.scheduler.tokenFiles.join, '--name', 'usr1', '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'], env },
    );
    let out = '';
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await expect.poll(() => stack.scheduler.internals.registry.all().some((w) => w.name === 'usr1'), { timeout: 15_000 }).toBe(true);
      process.kill(proc.pid!, 'SIGUSR1');
      // Node opens the inspector synchronously on the signal and says so on stderr; a later
      // heartbeat shows the worker handled the signal's moment and is still alive.
      const lastBeat = (): number =>
        stack.scheduler.internals.registry
          .all()
          .find((w) => w.name === 'usr1')!
          .lastHeartbeatAt?.getTime() ?? 0;
      const before = lastBeat();
      await expect.poll(lastBeat, { timeout: 5000 }).toBeGreaterThan(before);
      const probe = await new Promise<string>((resolve) => {
        const s = createConnection(9229, '127.0.0.1');
        s.on('connect', () => {
          s.destroy();
          resolve('inspector listening');
        });
        s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(probe).toBe('ECONNREFUSED');
      expect(out).not.toMatch(/Debugger listening/);
      expect(proc.exitCode).toBeNull();
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
