/**
 * Agent tests for a list of schedulers (`--scheduler a,b`): against real gRPC servers playing the
 * active scheduler and a standby that does not listen (a port nothing is bound to), and a fake
 * sandbox pool.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkerAgent, type WorkerAgent } from './agent.js';
import { FakePool } from './testing/fake-pool.js';
import { execute, waitUntilTrue } from './testing/fixtures.js';
import { ScriptedScheduler } from './testing/scripted-scheduler.js';

const schedulers: ScriptedScheduler[] = [];
let agent: WorkerAgent | null = null;

afterEach(async () => {
  await agent?.close(0);
  for (const s of schedulers.splice(0)) await s.close();
  agent = null;
});

async function startScheduler(port = 0): Promise<ScriptedScheduler> {
  const s = await ScriptedScheduler.start({}, port);
  schedulers.push(s);
  return s;
}

/** A loopback port that was free a moment ago and has nothing listening on it now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function startAgent(schedulerAddress: string, reconnect = { reconnectBaseMs: 10, reconnectCapMs: 50 }): { agent: WorkerAgent; pool: FakePool } {
  const pool = new FakePool();
  agent = createWorkerAgent({ schedulerAddress, pool, capacity: 2, startedReportDelayMs: 0, ...reconnect });
  return { agent, pool };
}

describe('a list of schedulers', () => {
  it('joins the one that accepts connections when the first address does not listen', async () => {
    const dead = await freePort();
    const live = await startScheduler();
    // A long backoff: passing over the dead address must not wait for it.
    const { agent } = startAgent(`127.0.0.1:${dead},${live.address}`, { reconnectBaseMs: 10_000, reconnectCapMs: 10_000 });
    await agent.start();
    await waitUntilTrue(() => agent.connected, 3000);
    expect(live.streams).toHaveLength(1);
  });

  it('moves to the next scheduler when the active one goes away, announcing its in-flight run in Hello', async () => {
    const a = await startScheduler();
    const bPort = await freePort();
    const { agent, pool } = startAgent(`${a.address},127.0.0.1:${bPort}`);
    await agent.start();
    const first = await a.stream(0);
    const hello1 = await first.waitFor('hello');
    first.send(execute('e1', { lease: 'L1' }));
    await pool.waitForRun('e1');

    // A goes away; for a while nothing listens anywhere (B is still a standby), then B takes over.
    await a.close();
    await waitUntilTrue(() => !agent.connected);
    const b = await startScheduler(bPort);
    const onB = await b.stream(0, 10_000);
    const hello2 = await onB.waitFor('hello');
    expect(hello2.workerId).toBe(hello1.workerId);
    expect(hello2.held).toEqual([{ executionId: 'e1', lease: 'L1' }]);
    await waitUntilTrue(() => agent.connected);

    // The run reports to the scheduler now in use.
    (await pool.waitForRun('e1')).succeed('"done"');
    expect(await onB.waitFor('result')).toMatchObject({ executionId: 'e1', lease: 'L1', ok: true });
    expect(b.maxOpenStreams).toBe(1);
  });

  it('stays with the scheduler in use while it serves, and goes back to the first when the second goes away', async () => {
    const a = await startScheduler();
    const b = await startScheduler();
    const { agent } = startAgent(`${a.address},${b.address}`);
    await agent.start();
    const s0 = await a.stream(0);
    await s0.waitFor('hello');
    s0.end();
    // One stream lost: the next address at once.
    await (await b.stream(0)).waitFor('hello');
    await waitUntilTrue(() => agent.connected);
    expect(a.streams).toHaveLength(1);
    (await b.stream(0)).end();
    await (await a.stream(1)).waitFor('hello');
    expect(a.maxOpenStreams + b.maxOpenStreams).toBe(2);
  });
});
