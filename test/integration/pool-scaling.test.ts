/**
 * `taskforge pool` as a real process against a real scheduler and gateway: the scale API's path
 * (gateway → scheduler → the pool's stream), its error answers, workers started and drained for
 * real, and the autoscaler growing the pool for a backlog and shrinking it after the cooldown.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePrometheusText } from '../helpers/prometheus-text.js';
import { spawnComponent, type ComponentProcess } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
let pool: ComponentProcess | undefined;

afterEach(async () => {
  await pool?.kill('SIGKILL');
  pool = undefined;
  await stack?.close();
  stack = undefined;
});

function startPool(s: Stack, args: string[]): ComponentProcess {
  return spawnComponent([
    'pool',
    '--scheduler',
    s.scheduler.address,
    '--join-token-file',
    s.scheduler.tokenFiles.join,
    '--pool-name',
    'edge',
    '--capacity',
    '1',
    '--prewarm',
    '0',
    '--log-level',
    'info',
    ...args,
  ]);
}

const readyWorkers = async (s: Stack): Promise<string[]> =>
  ((await s.request('GET', '/v1/workers')).body.workers as { name: string; status: string }[])
    .filter((w) => w.status === 'ready')
    .map((w) => w.name)
    .sort();

const lines = (p: ComponentProcess, msg: string): Record<string, unknown>[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('POST /v1/workers/scale with no pool connected', () => {
  it('is 409 POOL_NOT_CONNECTED, and GET /v1/workers/pools lists none', async () => {
    stack = await startStack({ workers: 0 });
    const r = await stack.request('POST', '/v1/workers/scale', { workers: 2 });
    expect(r.status).toBe(409);
    expect(r.body).toEqual({ error: { code: 'POOL_NOT_CONNECTED', message: expect.stringContaining('taskforge pool'), details: { reason: 'no_pool' } } });
    expect((await stack.request('GET', '/v1/workers/pools')).body).toEqual({ pools: [] });
  });
});

describe('taskforge pool, scaled through the API', () => {
  it('starts its workers, scales up and down within min/max, refuses the rest, and stops all on SIGTERM', async () => {
    stack = await startStack({ workers: 0 });
    const s = stack;
    pool = startPool(s, ['--workers', '1', '--min-workers', '1', '--max-workers', '3']);
    await pool.waitForLine(/"msg":"pool connected"/, 20_000);
    await vi.waitFor(async () => expect(await readyWorkers(s)).toEqual(['edge-1']), { timeout: 20_000, interval: 200 });
    const listed = (await s.request('GET', '/v1/workers/pools')).body.pools;
    expect(listed).toEqual([expect.objectContaining({ name: 'edge', current: 1, target: 1, min: 1, max: 3, autoscale: false, workerCapacity: 1 })]);

    const up = await s.request('POST', '/v1/workers/scale', { workers: 3 });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ name: 'edge', target: 3, current: 3 });
    await vi.waitFor(async () => expect(await readyWorkers(s)).toEqual(['edge-1', 'edge-2', 'edge-3']), { timeout: 20_000, interval: 200 });

    // The metrics an external autoscaler reads say the same.
    await vi.waitFor(
      async () => {
        const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.adminKey}` } });
        const m = parsePrometheusText(await res.text());
        expect(m.value('taskforge_worker_slots', { state: 'total' })).toBe(3);
        expect(m.value('taskforge_worker_slots', { state: 'busy' })).toBe(0);
        expect(m.value('taskforge_pool_workers', { pool: 'edge', kind: 'target' })).toBe(3);
        expect(m.value('taskforge_pool_workers', { pool: 'edge', kind: 'current' })).toBe(3);
        expect(m.value('taskforge_pool_workers', { pool: 'edge', kind: 'max' })).toBe(3);
      },
      { timeout: 10_000, interval: 200 },
    );

    // Outside the pool's bounds, an unknown pool, a key that is not admin: refused, nothing changes.
    const over = await s.request('POST', '/v1/workers/scale', { workers: 4 });
    expect(over.status).toBe(400);
    expect(over.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'body.workers', reason: 'out_of_bounds', min: 1, max: 3 } });
    const under = await s.request('POST', '/v1/workers/scale', { workers: 0, pool: 'edge' });
    expect(under.status).toBe(400);
    const ghost = await s.request('POST', '/v1/workers/scale', { workers: 2, pool: 'ghost' });
    expect(ghost.status).toBe(404);
    expect(ghost.body.error).toMatchObject({ code: 'POOL_NOT_FOUND', details: { pool: 'ghost' } });
    const bad = await s.request('POST', '/v1/workers/scale', { workers: 'two' });
    expect(bad.status).toBe(400);
    const readKey = (await s.request('POST', '/v1/keys', { name: 'ro', scopes: ['read'] })).body.key as string;
    const forbidden = await s.requestAs(readKey, 'POST', '/v1/workers/scale', { workers: 1 });
    expect(forbidden.status).toBe(403);
    expect((await s.requestAs(readKey, 'GET', '/v1/workers/pools')).status).toBe(200);
    expect((await s.request('GET', '/v1/workers/pools')).body.pools[0].target).toBe(3);

    // Down to one: the two highest drain and exit; the pool does not restart them.
    const down = await s.request('POST', '/v1/workers/scale', { workers: 1 });
    expect(down.status).toBe(200);
    await vi.waitFor(async () => expect(await readyWorkers(s)).toEqual(['edge-1']), { timeout: 20_000, interval: 200 });
    await vi.waitFor(
      () =>
        expect(
          lines(pool!, 'shutting down')
            .map((l) => l.poolWorker)
            .sort(),
        ).toEqual(['edge-2', 'edge-3']),
      {
        timeout: 20_000,
      },
    );
    expect(lines(pool, 'pool worker exited; restarting')).toEqual([]);

    // SIGTERM: every worker drains, then the pool exits 0.
    await pool.kill('SIGTERM');
    expect(await pool.exited).toBe(0);
    await vi.waitFor(async () => expect(await readyWorkers(s)).toEqual([]), { timeout: 20_000, interval: 200 });
    await vi.waitFor(async () => expect((await s.request('GET', '/v1/workers/pools')).body.pools).toEqual([]), { timeout: 10_000, interval: 200 });
  }, 90_000);

  it('restarts a worker that was killed', async () => {
    stack = await startStack({ workers: 0 });
    const s = stack;
    pool = startPool(s, ['--workers', '1', '--max-workers', '2']);
    await vi.waitFor(async () => expect(await readyWorkers(s)).toEqual(['edge-1']), { timeout: 20_000, interval: 200 });
    const first = (await s.request('GET', '/v1/workers')).body.workers[0].id as string;
    const started = lines(pool, 'pool worker started').filter((l) => l.worker === 'edge-1');
    expect(started).toHaveLength(1);
    process.kill(started[0]!.pid as number, 'SIGKILL');
    await pool.waitForLine(/"msg":"pool worker exited; restarting"/, 10_000);
    await vi.waitFor(
      async () => {
        const ws = (await s.request('GET', '/v1/workers')).body.workers as { id: string; name: string; status: string }[];
        expect(ws.filter((w) => w.status === 'ready' && w.id !== first).map((w) => w.name)).toEqual(['edge-1']);
      },
      { timeout: 20_000, interval: 200 },
    );
  }, 60_000);
});

describe('the pool and its schedulers', () => {
  it('skips an address that refuses, and comes back after the scheduler restarts', async () => {
    stack = await startStack({ workers: 0 });
    const s = stack;
    // Nothing listens on port 1: the pool moves on to the next address of the list.
    pool = spawnComponent([
      'pool',
      '--scheduler',
      `127.0.0.1:1,${s.scheduler.address}`,
      '--join-token-file',
      s.scheduler.tokenFiles.join,
      '--pool-name',
      'edge',
      '--workers',
      '0',
      '--log-level',
      'debug',
    ]);
    const listed = async (): Promise<void> =>
      expect((await s.request('GET', '/v1/workers/pools')).body.pools.map((p: { name: string }) => p.name)).toEqual(['edge']);
    await vi.waitFor(listed, { timeout: 20_000, interval: 200 });
    await s.restartScheduler();
    await vi.waitFor(listed, { timeout: 20_000, interval: 200 });
    expect(lines(pool, 'pool connected').length).toBeGreaterThanOrEqual(2);
    expect((await s.request('POST', '/v1/workers/scale', { workers: 0 })).status).toBe(200);
  }, 60_000);
});

describe('taskforge pool --autoscale', () => {
  it('grows for a queue backlog up to --max-workers, refuses manual scaling, and shrinks to --min-workers after the cooldown', async () => {
    stack = await startStack({ workers: 0 });
    const s = stack;
    pool = startPool(s, [
      '--autoscale',
      '--workers',
      '1',
      '--min-workers',
      '1',
      '--max-workers',
      '3',
      '--scale-up-cooldown-ms',
      '300',
      '--scale-down-cooldown-ms',
      '2000',
    ]);
    await vi.waitFor(async () => expect(await readyWorkers(s)).toEqual(['edge-1']), { timeout: 20_000, interval: 200 });
    expect((await s.request('GET', '/v1/workers/pools')).body.pools[0]).toMatchObject({ autoscale: true, target: 1, min: 1, max: 3 });
    const manual = await s.request('POST', '/v1/workers/scale', { workers: 2 });
    expect(manual.status).toBe(409);
    expect(manual.body.error.code).toBe('POOL_AUTOSCALED');

    const code = 'export default async () => { await new Promise((r) => setTimeout(r, 1500)); return 1; }';
    expect((await s.request('PUT', '/v1/functions/slow', { code })).status).toBe(201);
    const batch = await s.request('POST', '/v1/functions/slow/invoke-batch', { events: Array.from({ length: 8 }, (_, i) => i) });
    expect(batch.status).toBe(202);
    const ids = (batch.body.executions as { executionId: string }[]).map((e) => e.executionId);

    await vi.waitFor(async () => expect(await readyWorkers(s)).toEqual(['edge-1', 'edge-2', 'edge-3']), { timeout: 20_000, interval: 200 });
    for (const id of ids) {
      await vi.waitFor(async () => expect((await s.request('GET', `/v1/executions/${id}`)).body.status).toBe('succeeded'), { timeout: 30_000, interval: 200 });
    }
    await vi.waitFor(async () => expect(await readyWorkers(s)).toEqual(['edge-1']), { timeout: 20_000, interval: 200 });

    // One step up, straight to the bound; then only steps down (no flapping), each after the cooldown.
    const moves = lines(pool, 'autoscale');
    expect(moves[0]).toMatchObject({ from: 1, to: 3, reason: 'scale_up' });
    const downs = moves.slice(1);
    expect(downs.length).toBeGreaterThanOrEqual(1);
    for (const [i, m] of downs.entries()) {
      const prev = moves[i]!;
      expect(m).toMatchObject({ from: prev.to, reason: 'scale_down' });
      expect(m.to as number).toBeLessThan(m.from as number);
      expect((m.time as number) - (prev.time as number)).toBeGreaterThanOrEqual(2000);
    }
    expect(downs.at(-1)!.to).toBe(1);
  }, 120_000);
});
