/**
 * Fault: the scheduler process is SIGKILLed with delayed executions (and a delayed batch)
 * pending, stays down past some of their times, and is restarted on its port and data dir.
 * Every accepted id runs exactly once: none lost, none run twice (by its attempt history), and
 * none started before its scheduledFor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptRecord, Execution } from '../../common/records.js';
import { http, mapLimit } from '../helpers/processes.js';
import { startKillStack, type KillStack } from '../helpers/kill-stack.js';

const ECHO = 'export default async (e, ctx) => ({ e, attempt: ctx.attempt })';

let stack: KillStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('scheduler killed with delayed executions pending', () => {
  it('each runs exactly once after the restart, none before its time', { timeout: 60_000 }, async () => {
    stack = await startKillStack({ tmpPrefix: 'taskforge-delaykill-', workers: ['wa'] });
    const { base, key } = stack;
    expect((await http(base, 'PUT', '/v1/functions/echo', { code: ECHO }, key)).status).toBe(201);

    // Due before the restart (run at once after it), and after it (run at their time).
    const accepted = new Map<string, unknown>();
    await mapLimit(
      Array.from({ length: 60 }, (_, i) => i),
      8,
      async (i) => {
        const r = await http(base, 'POST', `/v1/functions/echo/invoke?delayMs=${500 + (i % 6) * 600}`, { i }, key);
        expect(r.status).toBe(202);
        accepted.set(r.body.executionId as string, { i });
      },
    );
    const batch = await http(base, 'POST', '/v1/functions/echo/invoke-batch?delayMs=1500', { events: Array.from({ length: 40 }, (_, b) => ({ b })) }, key);
    expect(batch.status).toBe(202);
    (batch.body.executions as Array<{ executionId: string }>).forEach(({ executionId }, b) => accepted.set(executionId, { b }));

    await stack.restartScheduler(1_500);

    const finals = await mapLimit([...accepted.keys()], 16, async (id) => {
      const end = Date.now() + 40_000;
      for (;;) {
        const r = await http(base, 'GET', `/v1/executions/${id}?waitMs=10000`, undefined, key);
        if (r.status === 200 && !['queued', 'running'].includes(r.body.status)) return r.body as Execution;
        expect(r.status, `202 id ${id} answered ${r.status}`).not.toBe(404);
        if (Date.now() > end) throw new Error(`${id} is still ${r.body?.status ?? r.status}`);
      }
    });
    const completed = (a: AttemptRecord): boolean => a.finishedAt !== null && a.errorCode === null;
    expect(finals).toHaveLength(100);
    for (const rec of finals) {
      expect(rec.status, rec.id).toBe('succeeded');
      expect(rec.input).toEqual(accepted.get(rec.id));
      expect((rec.attempts ?? []).filter(completed), rec.id).toHaveLength(1);
      expect(Date.parse(rec.startedAt!), rec.id).toBeGreaterThanOrEqual(Date.parse(rec.scheduledFor!));
    }
  });
});
