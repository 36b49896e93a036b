/**
 * A restart of the whole stack keeps functions and executions; unfinished work is re-queued.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
let dir: string | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('restart', () => {
  it('keeps functions, versions and executions, and runs what was still queued', async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-restart-'));
    stack = await startStack({ dataDir: dir });
    await stack.request('PUT', '/v1/functions/echo', fn('export default async (e) => e'));
    await stack.request('PUT', '/v1/functions/echo', fn('export default async (e) => ({ v2: e })'));
    const done = await stack.request('POST', '/v1/functions/echo/invoke?mode=sync', { a: 1 });
    expect(done.body.status).toBe('succeeded');
    await stack.close();

    // No worker: the accepted execution stays queued across the restart.
    stack = await startStack({ dataDir: dir, workers: 0 });
    const queued = await stack.request('POST', '/v1/functions/echo/invoke', { b: 2 });
    expect(queued.status).toBe(202);
    await stack.close();

    stack = await startStack({ dataDir: dir, workers: 1 });
    const versions = await stack.request('GET', '/v1/functions/echo/versions');
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const old = await stack.request('GET', `/v1/executions/${done.body.id}`);
    expect(old.body).toMatchObject({ status: 'succeeded', output: { v2: { a: 1 } } });
    const resumed = await stack.request('GET', `/v1/executions/${queued.body.executionId}?waitMs=10000`);
    expect(resumed.body).toMatchObject({ status: 'succeeded', output: { v2: { b: 2 } } });
    const logs = await stack.request('GET', `/v1/executions/${done.body.id}/logs`);
    expect(logs.status).toBe(200);
  });
});
