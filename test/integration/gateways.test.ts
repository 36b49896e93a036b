/**
 * Gateways are stateless: any number of them in front of one scheduler serve the same API. A real
 * scheduler and worker process with TWO gateways: a sync invoke waits through either, an execution
 * started through one is long-polled and watched (SSE) through the other, and an invoke retried
 * through the other gateway with the same idempotency key gives the same execution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { http } from '../helpers/processes.js';
import { SseReader } from '../helpers/sse-reader.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let second: RunningGateway;
let g1: string;
let g2: string;

beforeAll(async () => {
  stack = await startStack({ workers: 1, capacity: 4 });
  second = await startGateway({
    port: 0,
    host: '127.0.0.1',
    scheduler: stack.scheduler.address,
    logger: silentLogger,
    client: { controlToken: readTokenFile(stack.scheduler.tokenFiles.control) },
  });
  g1 = stack.url;
  g2 = `http://127.0.0.1:${second.port}`;
  await http(g1, 'PUT', '/v1/functions/echo', fn('export default async (e) => e'), stack.adminKey);
  await http(g1, 'PUT', '/v1/functions/slow', fn('export default async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return e; }'), stack.adminKey);
});
afterAll(async () => {
  await second?.close();
  await stack?.close();
});

describe('two gateways, one scheduler', () => {
  it('waits for a sync invoke through either gateway', async () => {
    for (const g of [g1, g2]) {
      const r = await http(g, 'POST', '/v1/functions/slow/invoke?mode=sync', { ms: 300, via: g }, stack.adminKey);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'succeeded', output: { ms: 300, via: g } });
    }
  });

  it('long-polls through gateway 2 an execution started through gateway 1', async () => {
    const accepted = await http(g1, 'POST', '/v1/functions/slow/invoke', { ms: 500 }, stack.adminKey);
    expect(accepted.status).toBe(202);
    const id = accepted.body.executionId as string;
    const polled = await http(g2, 'GET', `/v1/executions/${id}?waitMs=15000`, undefined, stack.adminKey);
    expect(polled.body).toMatchObject({ id, status: 'succeeded', output: { ms: 500 } });
  });

  it('watches through gateway 2, as server-sent events, an execution started through gateway 1', async () => {
    const accepted = await http(g1, 'POST', '/v1/functions/slow/invoke', { ms: 400 }, stack.adminKey);
    const id = accepted.body.executionId as string;
    const watch = await SseReader.open(g2, `/v1/events?execution=${id}`, stack.adminKey);
    try {
      expect(watch.status).toBe(200);
      await watch.until(() => watch.executions().some((e) => e.status === 'succeeded'), 'the succeeded change', 15_000);
      expect(watch.executions().every((e) => e.id === id)).toBe(true);
      // The function-wide watch through gateway 1 sees the same changes with the same ids.
      const last = watch.events.at(-1)!.id!;
      const again = await SseReader.open(g1, '/v1/events?function=slow', stack.adminKey, { 'last-event-id': String(Number(last) - 1) });
      await again.until(() => again.events.some((e) => e.id === last), 'the same change through gateway 1');
      again.close();
    } finally {
      watch.close();
    }
  });

  it('gives the same execution for an idempotency key retried through the other gateway', async () => {
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const first = await http(g1, 'POST', '/v1/functions/echo/invoke?mode=sync', { n: 1 }, stack.adminKey, headers);
    expect(first.status).toBe(200);
    const retried = await http(g2, 'POST', '/v1/functions/echo/invoke?mode=sync', { n: 1 }, stack.adminKey, headers);
    expect(retried.status).toBe(200);
    expect(retried.body.id).toBe(first.body.id);
    // An async retry through gateway 2 of a key first used there names the same execution too.
    const asyncHeaders = { 'idempotency-key': `a-${Date.now()}` };
    const a = await http(g2, 'POST', '/v1/functions/slow/invoke', { ms: 200 }, stack.adminKey, asyncHeaders);
    const b = await http(g1, 'POST', '/v1/functions/slow/invoke', { ms: 200 }, stack.adminKey, asyncHeaders);
    expect(b.body.executionId).toBe(a.body.executionId);
    const listed = await http(g1, 'GET', '/v1/executions?function=echo&limit=100', undefined, stack.adminKey);
    expect(listed.body.executions.filter((e: { idempotencyKey: string | null }) => e.idempotencyKey === headers['idempotency-key'])).toHaveLength(1);
  });

  it('authenticates a key made through one gateway at the other, and refuses it there soon after it is deleted', async () => {
    const made = await http(g1, 'POST', '/v1/keys', { name: 'reader', scopes: ['read'] }, stack.adminKey);
    expect(made.status).toBe(201);
    const used = await http(g2, 'GET', '/v1/executions?limit=1', undefined, made.body.key);
    expect(used.status).toBe(200);
    expect((await http(g1, 'DELETE', `/v1/keys/${made.body.id}`, undefined, stack.adminKey)).status).toBe(204);
    // Each gateway keeps a key check for up to 1 s (docs/CONFIGURATION.md "Several gateways"): gateway 2 refuses it within that.
    const deletedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - deletedAt < 5000) {
      status = (await http(g2, 'GET', '/v1/executions?limit=1', undefined, made.body.key)).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
    expect(Date.now() - deletedAt).toBeLessThan(2500);
  });
});
