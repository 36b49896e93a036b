/**
 * Fault: the scheduler process is SIGKILLed while workflow runs are being started and while their
 * steps run, then restarted on the same port and data dir (docs/WORKFLOWS.md "Durability"). Every
 * run that got a 202 still exists after the restart and succeeds; every step of every run has
 * exactly one execution (none lost, none started twice), which completed exactly once. Clients
 * retry a start that was not answered with its Idempotency-Key, so no run is started twice either.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptRecord, Execution } from '../../common/records.js';
import { http, mapLimit } from '../helpers/processes.js';
import { startKillStack, type KillStack } from '../helpers/kill-stack.js';

const STEP = 'export default async (e) => { await new Promise((r) => setTimeout(r, 100 + (e.n % 3) * 50)); return { n: e.n, step: e.step } }';
const RUNS = 24;
const KILL_AFTER = 10;
const STEPS = ['a', 'b', 'c', 'd'];

let stack: KillStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('scheduler killed in the middle of workflow runs', () => {
  it('every accepted run resumes and succeeds; no step is lost or started twice', { timeout: 90_000 }, async () => {
    stack = await startKillStack({ tmpPrefix: 'taskforge-wfkill-', workers: ['wa', 'wb'] });
    const { base, key } = stack;
    expect((await http(base, 'PUT', '/v1/functions/step', { code: STEP }, key)).status).toBe(201);
    const def = await http(
      base,
      'PUT',
      '/v1/workflows/diamond',
      {
        steps: [
          { id: 'a', function: 'step', input: { n: '$.input.n', step: 'a' } },
          { id: 'b', function: 'step', needs: ['a'], input: { n: '$.steps.a.output.n', step: 'b' } },
          { id: 'c', function: 'step', needs: ['a'], input: { n: '$.steps.a.output.n', step: 'c' } },
          { id: 'd', function: 'step', needs: ['b', 'c'], input: { n: '$.steps.b.output.n', step: 'd' } },
        ],
      },
      key,
    );
    expect(def.status).toBe(201);

    const accepted = new Map<string, number>();
    const kill: { restarted?: Promise<void> } = {};
    const killAndRestart = (): Promise<void> => stack!.restartScheduler();
    const deadline = Date.now() + 40_000;
    await mapLimit(
      Array.from({ length: RUNS }, (_, n) => n),
      4,
      async (n) => {
        // A client retries a start that was not accepted; only a 202 counts.
        for (;;) {
          const r = await http(base, 'POST', '/v1/workflows/diamond/runs', { n }, key, { 'idempotency-key': `run-${n}` });
          if (r.status === 202) {
            accepted.set(r.body.runId, n);
            if (accepted.size === KILL_AFTER && !kill.restarted) kill.restarted = killAndRestart();
            return;
          }
          expect([0, 503]).toContain(r.status);
          if (Date.now() > deadline) throw new Error(`run ${n} never accepted (last status ${r.status})`);
          await (kill.restarted ?? new Promise((res) => setTimeout(res, 50)));
          await new Promise((res) => setTimeout(res, 20));
        }
      },
    );
    expect(kill.restarted).toBeDefined();
    await kill.restarted;
    expect(accepted.size).toBe(RUNS);

    const runs = await mapLimit([...accepted.keys()], 8, async (id) => {
      const end = Date.now() + 40_000;
      for (;;) {
        const r = await http(base, 'GET', `/v1/workflow-runs/${id}`, undefined, key);
        expect(r.status, `202 run ${id} answered ${r.status}`).not.toBe(404);
        if (r.status === 200 && r.body.status !== 'running') return r.body;
        if (Date.now() > end) throw new Error(`${id} is still ${JSON.stringify(r.body)}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    });
    for (const run of runs) {
      const n = accepted.get(run.id)!;
      expect(run.status, JSON.stringify(run)).toBe('succeeded');
      expect(run.output).toEqual({ d: { n, step: 'd' } });
    }

    const all: Execution[] = [];
    let cursor = '';
    for (;;) {
      const page = await http(base, 'GET', `/v1/executions?limit=500${cursor ? `&cursor=${cursor}` : ''}`, undefined, key);
      all.push(...(page.body.executions as Execution[]));
      if (!page.body.nextCursor) break;
      cursor = encodeURIComponent(page.body.nextCursor as string);
    }
    const byStep = new Map<string, Execution[]>();
    for (const e of all) {
      if (e.trigger?.type !== 'workflow') continue;
      const k = `${e.trigger.runId}/${e.trigger.step}`;
      byStep.set(k, [...(byStep.get(k) ?? []), e]);
    }
    const completed = (a: AttemptRecord): boolean => a.finishedAt !== null && a.errorCode === null;
    for (const run of runs) {
      for (const step of STEPS) {
        const execs = byStep.get(`${run.id}/${step}`) ?? [];
        expect(
          execs.map((e) => e.id),
          `${run.id}/${step}`,
        ).toEqual([run.steps[step].executionId]);
        expect(execs[0]!.status).toBe('succeeded');
        expect((execs[0]!.attempts ?? []).filter(completed)).toHaveLength(1);
      }
    }
    // A start durable without its 202 reaching the client was answered again on the retry:
    // every run there is, is one the clients hold.
    expect(byStep.size).toBe(RUNS * STEPS.length);
    const listed = await http(base, 'GET', '/v1/workflow-runs?workflow=diamond&limit=500', undefined, key);
    expect(listed.body.runs.map((r: { id: string }) => r.id).sort()).toEqual([...accepted.keys()].sort());
  });
});
