/**
 * Workers and gateways given a list of schedulers (`--scheduler a,b`) use the one that accepts
 * connections and move to the next when it goes away. Two real `taskforge scheduler` processes
 * play the active scheduler and its standby: B's port is kept free (a standby does not listen)
 * until A is killed; then B starts there on a copy of A's data directory, standing in for the
 * shared database of a real pair. A real worker process and an in-process gateway on port 0.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { http, startSchedulerProcess, tokenFiles, spawnComponent, type ComponentProcess, type HttpReply } from '../helpers/processes.js';
import { SseReader } from '../helpers/sse-reader.js';
import { fn, readAdminKey } from '../helpers/stack.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'taskforge-failover-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A loopback port that was free a moment ago, with nothing listening on it now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function startWorker(schedulers: string, dataDir: string): ComponentProcess {
  const w = spawnComponent([
    'worker',
    '--scheduler',
    schedulers,
    '--join-token-file',
    tokenFiles(dataDir).join,
    '--capacity',
    '2',
    '--name',
    'w1',
    '--log-level',
    'info',
  ]);
  cleanup.push(() => w.kill());
  return w;
}

/** Retries `probe` until `ok` holds for its reply, for at most `ms`. */
async function eventually(probe: () => Promise<HttpReply>, ok: (r: HttpReply) => boolean, what: string, ms = 20_000): Promise<HttpReply> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await probe();
    if (ok(r)) return r;
    if (Date.now() > deadline) throw new Error(`${what}: still ${r.status} ${JSON.stringify(r.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a list of schedulers', () => {
  it('workers and gateways move from the scheduler that went away to the one that took over, and work runs there', async () => {
    const dirA = await tempDir();
    const dirB = await tempDir();
    const a = await startSchedulerProcess(dirA);
    cleanup.push(() => a.kill());
    const bPort = await freePort();
    const b = `127.0.0.1:${bPort}`;
    const key = await readAdminKey(dirA);

    // The worker's list starts with B, which does not listen yet: it joins A.
    const worker = startWorker(`${b},${a.address}`, dirA);
    await worker.waitForLine(/"msg":"welcomed"/, 20_000);
    const gw: RunningGateway = await startGateway({
      port: 0,
      scheduler: `${a.address},${b}`,
      logger: silentLogger,
      client: { controlToken: readTokenFile(tokenFiles(dirA).control) },
    });
    cleanup.push(() => gw.close());
    const url = `http://127.0.0.1:${gw.port}`;

    expect((await http(url, 'PUT', '/v1/functions/echo', fn('export default async (e) => e'), key)).status).toBe(201);
    const slowCode = 'export default async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return e; }';
    expect((await http(url, 'PUT', '/v1/functions/slow', fn(slowCode, { timeoutMs: 30_000 }), key)).status).toBe(201);
    expect((await http(url, 'POST', '/v1/functions/echo/invoke?mode=sync', { on: 'a' }, key)).body).toMatchObject({ status: 'succeeded' });

    // In flight on A when it goes away: an accepted async run, a watch stream and a sync invoke without a key.
    const accepted = await http(url, 'POST', '/v1/functions/slow/invoke', { ms: 6000 }, key);
    expect(accepted.status).toBe(202);
    const id = accepted.body.executionId as string;
    await eventually(
      () => http(url, 'GET', `/v1/executions/${id}`, undefined, key),
      (r) => r.body.status === 'running',
      'the run started',
    );
    const watch = await SseReader.open(url, '/v1/events?function=slow', key);
    cleanup.push(async () => watch.close());
    expect(watch.status).toBe(200);
    const unkeyed = http(url, 'POST', '/v1/functions/slow/invoke?mode=sync', { ms: 20_000 }, key);
    await eventually(
      () => http(url, 'GET', '/v1/executions?function=slow&status=running', undefined, key),
      (r) => r.body.executions.length === 2,
      'the sync run started',
    );

    await a.kill('SIGKILL');
    // The sync invoke without a key may have run: 503 in the API's error shape, not a second run.
    const lost = await unkeyed;
    expect(lost.status).toBe(503);
    expect(lost.body.error).toMatchObject({ code: 'SCHEDULER_UNAVAILABLE', details: { reason: 'scheduler_lost' } });
    // The watch ends cleanly so the client reconnects (to whichever scheduler is active then).
    await watch.closedByServer(10_000);

    await cp(dirA, dirB, { recursive: true });
    const bProc = await startSchedulerProcess(dirB, bPort);
    cleanup.push(() => bProc.kill());

    // The worker moves to B; it announces the run it still holds, which finishes there.
    await eventually(
      () => http(url, 'GET', '/v1/workers', undefined, key),
      (r) => r.status === 200 && r.body.workers?.length === 1,
      'the worker on B',
    );
    const done = await http(url, 'GET', `/v1/executions/${id}?waitMs=20000`, undefined, key);
    expect(done.body).toMatchObject({ id, status: 'succeeded', output: { ms: 6000 } });

    // Reads and new work go to B through the same gateway; a reconnecting watch is served by B.
    expect((await http(url, 'GET', '/v1/functions', undefined, key)).status).toBe(200);
    const again = await SseReader.open(url, '/v1/events?function=echo', key, { 'last-event-id': watch.events.at(-1)?.id ?? '1' });
    cleanup.push(async () => again.close());
    expect(again.status).toBe(200);
    const onB = await http(url, 'POST', '/v1/functions/echo/invoke?mode=sync', { on: 'b' }, key);
    expect(onB.body).toMatchObject({ status: 'succeeded', output: { on: 'b' } });
    await again.until(() => again.executions().some((e) => e.id === onB.body.id && e.status === 'succeeded'), 'the run on B in the watch');
    expect(worker.output()).toContain(`"scheduler":"${a.address}"`);
  }, 90_000);

  it('a gateway whose first address does not listen serves reads and writes from the second; one whose list is malformed does not start', async () => {
    const dir = await tempDir();
    const s = await startSchedulerProcess(dir);
    cleanup.push(() => s.kill());
    const dead = `127.0.0.1:${await freePort()}`;
    const gw = await startGateway({
      port: 0,
      scheduler: `${dead},${s.address}`,
      logger: silentLogger,
      client: { controlToken: readTokenFile(tokenFiles(dir).control) },
    });
    cleanup.push(() => gw.close());
    const base = `http://127.0.0.1:${gw.port}`;
    const key = await readAdminKey(dir);
    // A write too: the first address refused the connection, so nothing was sent there.
    expect((await http(base, 'PUT', '/v1/functions/echo', fn('export default async (e) => e'), key)).status).toBe(201);
    expect((await http(base, 'GET', '/v1/functions', undefined, key)).status).toBe(200);
    await expect(startGateway({ port: 0, scheduler: `${s.address},,${dead}`, logger: silentLogger })).rejects.toMatchObject({
      code: 'ERR_TASKFORGE_OPTION',
      option: 'scheduler',
    });
  });

  it('a worker process with a malformed list exits at start with the options error', async () => {
    const w = spawnComponent(['worker', '--scheduler', '127.0.0.1:50051,nohost', '--log-level', 'info']);
    cleanup.push(() => w.kill());
    expect(await w.exited).not.toBe(0);
    expect(w.output()).toMatch(/--scheduler entry 2 \("nohost"\) must be host:port/);
  });
});
