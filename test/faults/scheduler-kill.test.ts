/**
 * Fault: the scheduler process is SIGKILLed while 500 async invokes are being accepted and run,
 * then restarted on the port it first got and the same data dir (docs/RELIABILITY.md).
 * Clients retry what was refused. Every id that got a 202 still exists after the restart and
 * ends in exactly one terminal state: its record is terminal, its output is its own, and its
 * attempt history shows exactly one completed run — none is missing, none ran to completion twice.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptRecord, Execution } from '../../common/records.js';
import { http, mapLimit } from '../helpers/processes.js';
import { startKillStack, type KillStack } from '../helpers/kill-stack.js';

const WORK = 'export default async (e, ctx) => { await new Promise((r) => setTimeout(r, 5 + (e.i % 4) * 15)); return { i: e.i, attempt: ctx.attempt } }';
const TOTAL = 500;
const KILL_AFTER = 150;

let stack: KillStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('scheduler killed while accepting and running', () => {
  it('every 202 id survives the restart and reaches exactly one terminal state', { timeout: 60_000 }, async () => {
    stack = await startKillStack({ tmpPrefix: 'taskforge-schedkill-', workers: ['wa', 'wb'] });
    const { base, key, dataDir } = stack;
    expect((await http(base, 'PUT', '/v1/functions/work', { code: WORK }, key)).status).toBe(201);

    const accepted = new Map<string, number>();
    const refused = new Map<number, number>();
    // Set by the lane whose 202 is the KILL_AFTER-th (a holder: the compiler cannot follow lanes).
    const kill: { restarted?: Promise<void> } = {};
    const killAndRestart = (): Promise<void> => stack!.restartScheduler();
    const deadline = Date.now() + 40_000;
    await mapLimit(
      Array.from({ length: TOTAL }, (_, i) => i),
      16,
      async (i) => {
        // A client retries an invoke that was not accepted; only a 202 counts as accepted.
        for (;;) {
          const r = await http(base, 'POST', '/v1/functions/work/invoke', { i }, key);
          if (r.status === 202) {
            accepted.set(r.body.executionId, i);
            if (accepted.size === KILL_AFTER && !kill.restarted) kill.restarted = killAndRestart();
            return;
          }
          refused.set(r.status, (refused.get(r.status) ?? 0) + 1);
          if (Date.now() > deadline) throw new Error(`invoke ${i} never accepted (last status ${r.status})`);
          await (kill.restarted ?? new Promise((res) => setTimeout(res, 50)));
          await new Promise((res) => setTimeout(res, 20));
        }
      },
    );
    expect(kill.restarted).toBeDefined();
    await kill.restarted;
    expect(accepted.size).toBe(TOTAL);
    // Refusals while the scheduler was down are 503s, never anything that looks like acceptance.
    for (const status of refused.keys()) expect([0, 503]).toContain(status);

    const finals = await mapLimit([...accepted.keys()], 32, async (id) => {
      const end = Date.now() + 40_000;
      for (;;) {
        const r = await http(base, 'GET', `/v1/executions/${id}?waitMs=10000`, undefined, key);
        if (r.status === 200 && ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(r.body.status)) return r.body as Execution;
        expect(r.status, `202 id ${id} answered ${r.status}`).not.toBe(404);
        if (Date.now() > end) throw new Error(`${id} is still ${r.body?.status ?? r.status}`);
      }
    });

    const completed = (a: AttemptRecord): boolean => a.finishedAt !== null && a.errorCode === null;
    for (const rec of finals) {
      const i = accepted.get(rec.id)!;
      expect(rec.status, rec.id).toBe('succeeded');
      expect(rec.input).toEqual({ i });
      expect(rec.output).toEqual({ i, attempt: rec.attempt });
      const attempts = rec.attempts ?? [];
      expect(attempts.filter(completed), `${rec.id} attempts ${JSON.stringify(attempts)}`).toHaveLength(1);
      expect(attempts[attempts.length - 1]).toMatchObject({ attempt: rec.attempt, errorCode: null });
      expect(attempts.every((a) => a.finishedAt !== null)).toBe(true);
    }
    const stats = await http(base, 'GET', '/v1/stats', undefined, key);
    expect(stats.body.executions).toMatchObject({ queued: 0, running: 0 });

    // What the API answered is what is on disk once the scheduler stops cleanly.
    await stack.scheduler.kill('SIGTERM');
    for (const rec of finals) {
      const onDisk = JSON.parse(await readFile(join(dataDir, 'executions', `${rec.id}.json`), 'utf8')) as Execution;
      expect(onDisk.status).toBe('succeeded');
      expect(onDisk.output).toEqual(rec.output);
    }
  });
});
