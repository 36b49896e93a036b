/**
 * Fault: the scheduler is down for 10 s (PROTOCOL.md "Reconnect"). Worker processes keep
 * retrying with capped backoff; when it is back on the same port each worker re-registers
 * under its own id with exactly one stream — one Hello each, no stream replaced, no second
 * Hello — and both run work again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fn, startStack, type Stack } from '../helpers/stack.js';
import { memoryLog } from '../helpers/memory-log.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('scheduler down for 10 s', () => {
  it('workers reconnect and re-register once each, with no duplicate streams', { timeout: 45_000 }, async () => {
    stack = await startStack({ workers: 2, capacity: 1 });
    const s = stack;
    await s.request('PUT', '/v1/functions/echo', fn('export default async (e) => e'));
    const ids = s.workers.map((w) => w.id).sort();

    await s.scheduler.close();
    // The outage itself is what is under test: nothing listens on the port for 10 s.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    for (const w of s.workers) expect(w.proc.exitCode).toBeNull();

    const log = memoryLog();
    await s.restartScheduler({ logger: log.logger });
    for (const id of ids) await log.waitFor((l) => l.msg === 'worker connected' && l.workerId === id, 15_000, `re-registration of ${id}`);

    // Work placed on both workers (capacity 1 each, two at once) proves both streams carry traffic.
    const runs = await Promise.all([1, 2].map(async (n) => (await s.request('POST', '/v1/functions/echo/invoke?mode=sync', { n })).body));
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(runs.map((r) => r.workerId).sort()).toEqual(ids);
    // Several heartbeat intervals (200 ms) after both joined, still one stream each.
    const more = await Promise.all([3, 4, 5, 6].map(async (n) => (await s.request('POST', '/v1/functions/echo/invoke?mode=sync', { n })).body));
    expect(more.every((r) => r.status === 'succeeded')).toBe(true);

    const connects = log.find((l) => l.msg === 'worker connected');
    expect(connects.map((l) => l.workerId).sort()).toEqual(ids);
    expect(connects.every((l) => l.held === 0 && l.kill === 0)).toBe(true);
    expect(log.find((l) => l.msg === 'worker lost')).toEqual([]);
    expect(log.find((l) => l.msg === 'second Hello on one stream ignored')).toEqual([]);

    const workers = (await s.request('GET', '/v1/workers')).body.workers as { id: string; status: string }[];
    expect(workers.map((w) => w.id).sort()).toEqual(ids);
    expect(workers.every((w) => w.status === 'ready')).toBe(true);
    const registry = s.scheduler.internals.registry;
    expect(
      registry
        .all()
        .map((w) => w.id)
        .sort(),
    ).toEqual(ids);
  });
});
