/**
 * Fault: the scheduler process is SIGKILLed right after a publish's 202, while publishes fan out
 * and a cron trigger ticks every second, then restarted on the same port and data dir. Every
 * event that got a 202 still has one execution per subscriber, each ends succeeded with exactly
 * one completed run; the cron trigger never ran a tick twice, and the downtime gave one catch-up
 * run, not one per missed tick.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import type { AttemptRecord, Execution } from '../../common/records.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { http, mapLimit, startSchedulerProcess, startWorkerProcess, tokenFiles, type ComponentProcess } from '../helpers/processes.js';
import { readAdminKey } from '../helpers/stack.js';

const WORK = 'export default async (e) => { await new Promise((r) => setTimeout(r, 5)); return { got: e } }';
const SUBSCRIBERS = ['sub-a', 'sub-b', 'sub-c'];
const EVENTS = 60;
const KILL_AFTER = 20;
const DOWN_MS = 2_500;

const procs: ComponentProcess[] = [];
let gateway: RunningGateway | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill();
  await gateway?.close();
  gateway = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduler killed right after a publish is acknowledged', () => {
  it('loses no execution of an acknowledged event, runs none twice, and fires each cron tick once', { timeout: 90_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-trigkill-'));
    let scheduler = await startSchedulerProcess(dataDir);
    procs.push(scheduler);
    const { port, address } = scheduler;
    procs.push(await startWorkerProcess(address, dataDir, 'wa', 8));
    gateway = await startGateway({
      port: 0,
      host: '127.0.0.1',
      scheduler: address,
      logger: silentLogger,
      client: { controlToken: readTokenFile(tokenFiles(dataDir).control) },
    });
    const base = `http://127.0.0.1:${gateway.port}`;
    const key = await readAdminKey(dataDir);
    for (const name of SUBSCRIBERS) {
      expect((await http(base, 'PUT', `/v1/functions/${name}`, { code: WORK, triggers: [{ type: 'topic', topic: 'load.test' }] }, key)).status).toBe(201);
    }
    expect((await http(base, 'PUT', '/v1/functions/ticker', { code: WORK, triggers: [{ type: 'cron', schedule: '* * * * * *' }] }, key)).status).toBe(201);
    await sleep(2_200);

    const accepted = new Map<string, { i: number; executions: Array<{ function: string; executionId: string }> }>();
    const kill: { at?: number; restarted?: Promise<void> } = {};
    const killAndRestart = async (): Promise<void> => {
      await scheduler.kill('SIGKILL');
      kill.at = Date.now();
      await sleep(DOWN_MS);
      scheduler = await startSchedulerProcess(dataDir!, port);
      procs.push(scheduler);
    };
    const deadline = Date.now() + 40_000;
    await mapLimit(
      Array.from({ length: EVENTS }, (_, i) => i),
      8,
      async (i) => {
        for (;;) {
          const r = await http(base, 'POST', '/v1/topics/load.test/events', { i }, key);
          if (r.status === 202) {
            accepted.set(r.body.eventId, { i, executions: r.body.executions });
            if (accepted.size === KILL_AFTER && !kill.restarted) kill.restarted = killAndRestart();
            return;
          }
          expect([0, 503]).toContain(r.status);
          if (Date.now() > deadline) throw new Error(`event ${i} never accepted (last status ${r.status})`);
          await (kill.restarted ?? sleep(50));
          await sleep(20);
        }
      },
    );
    await kill.restarted;
    await sleep(2_200);
    expect(accepted.size).toBe(EVENTS);

    const completed = (a: AttemptRecord): boolean => a.finishedAt !== null && a.errorCode === null;
    const waitDone = async (id: string): Promise<Execution> => {
      const end = Date.now() + 40_000;
      for (;;) {
        const r = await http(base, 'GET', `/v1/executions/${id}?waitMs=10000`, undefined, key);
        expect(r.status, `acknowledged execution ${id} answered ${r.status}`).not.toBe(404);
        if (r.status === 200 && !['queued', 'running'].includes(r.body.status)) return r.body as Execution;
        if (Date.now() > end) throw new Error(`${id} is still ${r.body?.status ?? r.status}`);
      }
    };
    for (const [eventId, { i, executions }] of accepted) {
      expect(executions.map((e) => e.function)).toEqual(SUBSCRIBERS);
      const finals = await mapLimit(executions, 3, (e) => waitDone(e.executionId));
      for (const rec of finals) {
        expect(rec).toMatchObject({ status: 'succeeded', input: { i }, output: { got: { i } }, trigger: { type: 'topic', topic: 'load.test', eventId } });
        expect((rec.attempts ?? []).filter(completed), `${rec.id} ran ${JSON.stringify(rec.attempts)}`).toHaveLength(1);
      }
    }

    const list = await http(base, 'GET', '/v1/executions?function=ticker&limit=500', undefined, key);
    const ticks = (list.body.executions as Execution[]).map((e) => Date.parse((e.trigger as { tick: string }).tick)).sort((a, b) => a - b);
    expect(new Set(ticks).size, 'a tick ran twice').toBe(ticks.length);
    const lastBefore = Math.max(...ticks.filter((t) => t < kill.at!));
    const firstAfter = Math.min(...ticks.filter((t) => t > lastBefore));
    // The ticks missed while it was down: only the latest of them ran (the catch-up), at least one did not.
    const missed = (firstAfter - lastBefore) / 1000 - 1;
    expect(missed, `ticks ${ticks.map((t) => new Date(t).toISOString()).join(' ')}`).toBeGreaterThanOrEqual(1);
    expect(ticks.filter((t) => t > lastBefore && t <= kill.at! + DOWN_MS).length).toBeLessThanOrEqual(1);
  });
});
