/**
 * Two `taskforge scheduler` processes on one PostgreSQL database: one leads and listens, the other
 * waits as a standby without listening. SIGKILL the leader and the standby takes the lease, loads
 * what the leader committed and serves it; a leader whose lease is taken exits 1 and stops
 * listening; a leader stopped cleanly hands over at once (its lease is released, not waited out).
 */
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { freePort, http, spawnComponent, startWorkerProcess, tokenFiles, type ComponentProcess } from '../helpers/processes.js';
import { readAdminKey } from '../helpers/stack.js';

let server: PostgresServer;
let dataDir: string;
const procs: ComponentProcess[] = [];
const gateways: RunningGateway[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill();
  for (const g of gateways.splice(0)) await g.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});
afterAll(async () => {
  await server?.close();
});

const LISTENING = /"msg":"scheduler listening"/;
const STANDBY = /"msg":"standby: another scheduler leads; waiting for its lease"/;

function scheduler(url: string, port: number, extra: string[] = []): ComponentProcess {
  const p = spawnComponent(['scheduler', '--grpc-port', String(port), '--data-dir', dataDir, '--store', url, '--log-level', 'info', ...extra]);
  procs.push(p);
  return p;
}

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
const listens = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

async function gatewayTo(port: number): Promise<string> {
  const gw = await startGateway({
    port: 0,
    host: '127.0.0.1',
    scheduler: `127.0.0.1:${port}`,
    logger: silentLogger,
    client: { controlToken: readTokenFile(tokenFiles(dataDir).control) },
  });
  gateways.push(gw);
  return `http://127.0.0.1:${gw.port}`;
}

describe('an HA pair of schedulers on PostgreSQL', () => {
  it('the standby does not listen; after the leader is SIGKILLed it takes over with everything the leader acknowledged', { timeout: 60_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-failover-'));
    const url = await server.createDatabase('failover');
    const [portA, portB] = [await freePort(), await freePort()];
    const a = scheduler(url, portA);
    await a.waitForLine(LISTENING, 20_000);
    const b = scheduler(url, portB);
    await b.waitForLine(STANDBY, 20_000);
    expect(await listens(portB)).toBe(false);

    const key = await readAdminKey(dataDir);
    const viaA = await gatewayTo(portA);
    expect((await http(viaA, 'PUT', '/v1/functions/echo', { code: 'export default async (e) => ({ got: e.n })' }, key)).status).toBe(201);
    // No worker yet: the execution is accepted (durable) and waits in the queue.
    const accepted = await http(viaA, 'POST', '/v1/functions/echo/invoke', { n: 7 }, key);
    expect(accepted.status).toBe(202);

    await a.kill('SIGKILL');
    const line = JSON.parse(await b.waitForLine(LISTENING, 20_000)) as { functions: number; executions: number };
    expect(line).toMatchObject({ functions: 1, executions: 1 });
    expect(await listens(portB)).toBe(true);
    const lease = await server.query<{ epoch: string }>('SELECT epoch FROM leader_lease', [], new URL(url).pathname.slice(1));
    expect(lease).toEqual([{ epoch: '2' }]);

    procs.push(await startWorkerProcess(`127.0.0.1:${portB}`, dataDir, 'w-failover', 2));
    const viaB = await gatewayTo(portB);
    const done = await http(viaB, 'GET', `/v1/executions/${accepted.body.executionId as string}?waitMs=15000`, undefined, key);
    expect(done.body).toMatchObject({ status: 'succeeded', output: { got: 7 } });
  });

  it('a leader whose lease another scheduler took exits 1 and stops listening', { timeout: 60_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-deposed-'));
    const url = await server.createDatabase('deposed');
    const port = await freePort();
    const a = scheduler(url, port, ['--lease-ttl-ms', '1000']);
    await a.waitForLine(LISTENING, 20_000);
    await server.query(
      "UPDATE leader_lease SET holder = 'other', epoch = epoch + 1, expires_at = now() + interval '1 minute'",
      [],
      new URL(url).pathname.slice(1),
    );
    expect(await a.exited).toBe(1);
    expect(a.output()).toContain('leader lease lost: this scheduler stops serving');
    expect(await listens(port)).toBe(false);
  });

  it('a leader stopped cleanly releases its lease: the standby takes over without waiting out the ttl', { timeout: 60_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-handover-'));
    const url = await server.createDatabase('handover');
    // A ttl far longer than the test: only a release lets the standby in.
    const long = ['--lease-ttl-ms', '600000'];
    const a = scheduler(url, await freePort(), long);
    await a.waitForLine(LISTENING, 20_000);
    const b = scheduler(url, await freePort(), long);
    await b.waitForLine(STANDBY, 20_000);
    await a.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await b.waitForLine(LISTENING, 20_000);
    expect(a.output()).toContain('leader lease released');
  });
});
