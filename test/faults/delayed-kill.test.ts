/**
 * Fault: the scheduler process is SIGKILLed with delayed executions (and a delayed batch)
 * pending, stays down past some of their times, and is restarted on its port and data dir.
 * Every accepted id runs exactly once: none lost, none run twice (by its attempt history), and
 * none started before its scheduledFor.
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

const ECHO = 'export default async (e, ctx) => ({ e, attempt: ctx.attempt })';

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

describe('scheduler killed with delayed executions pending', () => {
  it('each runs exactly once after the restart, none before its time', { timeout: 60_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-delaykill-'));
    let scheduler = await startSchedulerProcess(dataDir);
    procs.push(scheduler);
    const { port, address } = scheduler;
    procs.push(await startWorkerProcess(address, dataDir, 'wa', 4));
    const controlToken = readTokenFile(tokenFiles(dataDir).control);
    gateway = await startGateway({ port: 0, host: '127.0.0.1', scheduler: address, logger: silentLogger, client: { controlToken } });
    const base = `http://127.0.0.1:${gateway.port}`;
    const key = await readAdminKey(dataDir);
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

    await scheduler.kill('SIGKILL');
    await new Promise((res) => setTimeout(res, 1_500));
    scheduler = await startSchedulerProcess(dataDir, port);
    procs.push(scheduler);

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
