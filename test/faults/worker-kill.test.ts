/**
 * Fault: a worker is SIGKILLed while it runs executions (PROTOCOL.md "Reconnect"). Its stream
 * closes, it is marked lost, and every execution it was running is re-queued with attempt + 1,
 * runs on the other worker and succeeds: two attempts each, the first WORKER_LOST on the dead
 * worker, and none is left `running`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionChange } from '../../scheduler/execution/event-log.js';
import type { LossReason, RegisteredWorker } from '../../scheduler/worker-registry.js';
import { eventWithin, fn, startStack, type Stack } from '../helpers/stack.js';

const SLOW = 'export default async (e, ctx) => { await new Promise((r) => setTimeout(r, e.ms)); return { tag: e.tag, attempt: ctx.attempt } }';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('a worker killed mid-execution', () => {
  it('re-queues each of its executions onto the other worker, where they succeed on attempt 2', async () => {
    stack = await startStack({ workers: 2, capacity: 2 });
    const s = stack;
    await s.request('PUT', '/v1/functions/slow', fn(SLOW));

    const running = new Map<string, number>();
    const allRunning = new Promise<void>((resolve) => {
      s.scheduler.internals.state.eventLog.watch({}, (e: ExecutionChange) => {
        if (e.status === 'running' && e.attempt === 1) running.set(e.executionId, e.attempt);
        if (running.size === 4) resolve();
      });
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await s.request('POST', '/v1/functions/slow/invoke', { ms: 1500, tag: i });
      expect(r.status).toBe(202);
      ids.push(r.body.executionId);
    }
    await allRunning;

    // Capacity 2 on each of two workers: both are full, two executions each.
    const [victim, survivor] = s.workers;
    const onVictim = ids.filter((id) => s.scheduler.internals.state.index.get(id)!.workerId === victim!.id);
    const onSurvivor = ids.filter((id) => !onVictim.includes(id));
    expect(onVictim).toHaveLength(2);

    const lost = eventWithin<[RegisteredWorker, LossReason]>(s.scheduler.internals.registry.events, 'lost', 5_000);
    victim!.proc.kill('SIGKILL');
    const [lostWorker, reason] = await lost;
    expect(lostWorker.id).toBe(victim!.id);
    expect(reason).toBe('stream_closed');

    const finals = await Promise.all(ids.map(async (id) => (await s.request('GET', `/v1/executions/${id}?waitMs=20000`)).body));
    for (const rec of finals) expect(rec.status).toBe('succeeded');

    for (const rec of finals.filter((r) => onVictim.includes(r.id))) {
      expect(rec.attempt).toBe(2);
      expect(rec.workerId).toBe(survivor!.id);
      expect(rec.output).toMatchObject({ attempt: 2 });
      expect(rec.attempts).toEqual([
        expect.objectContaining({ attempt: 1, workerId: victim!.id, errorCode: 'WORKER_LOST', finishedAt: expect.any(String) }),
        expect.objectContaining({ attempt: 2, workerId: survivor!.id, errorCode: null, finishedAt: expect.any(String) }),
      ]);
    }
    for (const rec of finals.filter((r) => onSurvivor.includes(r.id))) {
      expect(rec.attempt).toBe(1);
      expect(rec.attempts).toEqual([expect.objectContaining({ attempt: 1, workerId: survivor!.id, errorCode: null })]);
    }

    const stats = await s.request('GET', '/v1/stats');
    expect(stats.body.executions).toMatchObject({ queued: 0, running: 0, succeeded: 4 });
    expect(stats.body.workers).toMatchObject({ ready: 1, lost: 1 });
  });
});
