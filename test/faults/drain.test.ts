/**
 * Fault drill: SIGTERM a busy worker (PROTOCOL.md "Drain"). It says it is draining at once, so
 * the scheduler sends it nothing new; its in-flight executions finish on it, on their first
 * attempt; executions invoked after the drain began run on the other worker; the drained
 * worker exits cleanly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionChange } from '../../scheduler/execution/event-log.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';
import { memoryLog } from '../helpers/memory-log.js';

const SLOW = 'export default async (e, ctx) => { await new Promise((r) => setTimeout(r, e.ms)); return { tag: e.tag, attempt: ctx.attempt } }';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('drain on SIGTERM', () => {
  it('finishes the in-flight executions on the draining worker and sends new ones to the other', async () => {
    const log = memoryLog();
    stack = await startStack({ workers: 2, capacity: 2, scheduler: { logger: log.logger } });
    const s = stack;
    await s.request('PUT', '/v1/functions/slow', fn(SLOW));

    let running = 0;
    const allRunning = new Promise<void>((resolve) => {
      s.scheduler.internals.state.eventLog.watch({}, (e: ExecutionChange) => {
        if (e.status === 'running' && ++running === 4) resolve();
      });
    });
    const busy: string[] = [];
    for (let i = 0; i < 4; i++) busy.push((await s.request('POST', '/v1/functions/slow/invoke', { ms: 2000, tag: `busy-${i}` })).body.executionId);
    await allRunning;
    const [draining, other] = s.workers;
    const onDraining = busy.filter((id) => s.scheduler.internals.state.index.get(id)!.workerId === draining!.id);
    expect(onDraining).toHaveLength(2);

    draining!.proc.kill('SIGTERM');
    await log.waitFor((l) => l.msg === 'worker draining' && l.workerId === draining!.id, 5_000, 'draining heartbeat');

    const fresh: string[] = [];
    for (let i = 0; i < 3; i++) fresh.push((await s.request('POST', '/v1/functions/slow/invoke', { ms: 50, tag: `fresh-${i}` })).body.executionId);

    const get = async (id: string) => (await s.request('GET', `/v1/executions/${id}?waitMs=20000`)).body;
    for (const id of onDraining) {
      const rec = await get(id);
      expect(rec).toMatchObject({ status: 'succeeded', attempt: 1, workerId: draining!.id });
      expect(rec.attempts).toEqual([expect.objectContaining({ attempt: 1, workerId: draining!.id, errorCode: null })]);
    }
    for (const id of fresh) {
      const rec = await get(id);
      expect(rec).toMatchObject({ status: 'succeeded', attempt: 1, workerId: other!.id });
      // Never offered to the draining worker, not even as a refused attempt.
      expect(rec.attempts).toEqual([expect.objectContaining({ attempt: 1, workerId: other!.id, errorCode: null })]);
    }
    expect(await draining!.exited).toBe(0);
    const stats = await s.request('GET', '/v1/stats');
    expect(stats.body.executions).toMatchObject({ succeeded: 7, running: 0, queued: 0, failed: 0 });
  });
});
