/**
 * Fault: the scheduler process is SIGKILLed right after an execution ended, while its webhook
 * delivery is in flight (the receiver holds the request open), then restarted on the same data
 * dir. The delivery is not lost: after the restart it is made again and delivered
 * (at-least-once, docs/DESTINATIONS.md), and the deliveries list says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { http, startSchedulerProcess, startWorkerProcess, tokenFiles, type ComponentProcess } from '../helpers/processes.js';
import { readAdminKey } from '../helpers/stack.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const procs: ComponentProcess[] = [];
let gateway: RunningGateway | undefined;
let receiver: Receiver | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill();
  await gateway?.close();
  gateway = undefined;
  await receiver?.close();
  receiver = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

describe('scheduler killed between an execution and its delivery', () => {
  it('the delivery is made after the restart', { timeout: 60_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-destkill-'));
    let firstArrived: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    // The first request is never answered (the scheduler dies holding it); later ones are.
    receiver = await startReceiver((_r, res, n) => {
      if (n === 1) firstArrived();
      else res.writeHead(200).end('ok');
    });
    const flags = ['--allow-private-webhooks'];
    let scheduler = await startSchedulerProcess(dataDir, 0, flags);
    procs.push(scheduler);
    const { port, address } = scheduler;
    procs.push(await startWorkerProcess(address, dataDir, 'wa', 2));
    const controlToken = readTokenFile(tokenFiles(dataDir).control);
    gateway = await startGateway({ port: 0, host: '127.0.0.1', scheduler: address, logger: silentLogger, client: { controlToken } });
    const base = `http://127.0.0.1:${gateway.port}`;
    const key = await readAdminKey(dataDir);
    const put = await http(base, 'PUT', '/v1/functions/work', { code: 'export default async (e) => e', onSuccess: { url: receiver.url('/hook') } }, key);
    expect(put.status).toBe(201);
    const inv = await http(base, 'POST', '/v1/functions/work/invoke', { i: 1 }, key);
    expect(inv.status).toBe(202);
    const id = inv.body.executionId as string;

    await arrived;
    await scheduler.kill('SIGKILL');
    procs.splice(procs.indexOf(scheduler), 1);
    scheduler = await startSchedulerProcess(dataDir, port, flags);
    procs.push(scheduler);

    const end = Date.now() + 40_000;
    let delivery: any;
    for (;;) {
      const r = await http(base, 'GET', `/v1/executions/${id}/deliveries`, undefined, key);
      delivery = r.status === 200 ? r.body.deliveries[0] : undefined;
      if (delivery?.status === 'delivered') break;
      if (Date.now() > end) throw new Error(`delivery of ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const bodies = receiver.received.map((r) => JSON.parse(r.body) as { execution: { id: string; status: string } });
    expect(bodies.length).toBeGreaterThanOrEqual(2);
    // Every request was about this execution's end; the answered one is in the record.
    for (const b of bodies) expect(b.execution).toMatchObject({ id, status: 'succeeded' });
    expect(delivery.attempts.at(-1)).toMatchObject({ statusCode: 200, responseExcerpt: 'ok' });
    expect(receiver.received.at(-1)!.headers['taskforge-delivery']).toBe(delivery.id);
  });
});
