/**
 * Agent tests for proto/PROTOCOL.md's Reconnect and Drain sections, against a real gRPC server playing
 * the scheduler and a fake sandbox pool.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkerAgent, type WorkerAgent } from './agent.js';
import { FakePool } from './testing/fake-pool.js';
import { execute, waitUntilTrue } from './testing/fixtures.js';
import { ScriptedScheduler, type ScriptedSchedulerOptions, type SchedulerStream } from './testing/scripted-scheduler.js';
import type { WorkerOptions } from './worker-options.js';

const schedulers: ScriptedScheduler[] = [];
let agent: WorkerAgent | null = null;

async function startScheduler(opts: ScriptedSchedulerOptions = {}, port = 0): Promise<ScriptedScheduler> {
  const s = await ScriptedScheduler.start(opts, port);
  schedulers.push(s);
  return s;
}

async function startAgent(address: string, opts: Partial<WorkerOptions> = {}): Promise<{ agent: WorkerAgent; pool: FakePool }> {
  const pool = new FakePool();
  agent = createWorkerAgent({ schedulerAddress: address, pool, capacity: 2, reconnectBaseMs: 10, reconnectCapMs: 50, startedReportDelayMs: 0, ...opts });
  await agent.start();
  return { agent, pool };
}

afterEach(async () => {
  await agent?.close(0);
  for (const s of schedulers.splice(0)) await s.close();
  agent = null;
});

/** Resolves once every message the agent wrote before now has reached `stream` (a heartbeat follows them). */
async function barrier(stream: SchedulerStream): Promise<void> {
  const seen = Math.max(0, ...stream.all('heartbeat').map((h) => h.seq));
  await stream.waitFor('heartbeat', (h) => h.seq > seen + 1);
}

describe('Reconnect', () => {
  it('reconnects after the scheduler ends the stream and re-sends Hello with the held executions', async () => {
    const scheduler = await startScheduler();
    const { agent, pool } = await startAgent(scheduler.address);
    const first = await scheduler.stream(0);
    const hello1 = await first.waitFor('hello');
    first.send(execute('e1', { lease: 'L1' }));
    await pool.waitForRun('e1');

    first.end();
    const second = await scheduler.stream(1);
    const hello2 = await second.waitFor('hello');
    expect(hello2.workerId).toBe(hello1.workerId);
    expect(hello2.workerId).toBe(agent.id);
    expect(hello2.held).toEqual([{ executionId: 'e1', lease: 'L1' }]);
    await waitUntilTrue(() => agent.connected);
    expect(first.isClosed).toBe(true);
    expect(scheduler.maxOpenStreams).toBe(1);

    // The held run keeps going and reports on the new stream.
    (await pool.waitForRun('e1')).succeed('"done"');
    const result = await second.waitFor('result');
    expect(result).toMatchObject({ executionId: 'e1', lease: 'L1', ok: true, outputJson: '"done"' });
    expect(first.all('result')).toEqual([]);
  });

  it('never holds two streams at once across repeated stream losses', async () => {
    const scheduler = await startScheduler();
    await startAgent(scheduler.address);
    for (let i = 0; i < 4; i++) {
      const s = await scheduler.stream(i);
      await s.waitFor('hello');
      await waitUntilTrue(() => agent!.connected);
      s.end();
    }
    await (await scheduler.stream(4)).waitFor('hello');
    expect(scheduler.streams).toHaveLength(5);
    expect(scheduler.maxOpenStreams).toBe(1);
  });

  it('kills a held run listed in Welcome.kill and never sends its result', async () => {
    let round = 0;
    const scheduler = await startScheduler({
      welcome: () => (round++ === 0 ? { heartbeatIntervalMs: 50 } : { heartbeatIntervalMs: 50, kill: ['e1'] }),
    });
    const { pool } = await startAgent(scheduler.address);
    const first = await scheduler.stream(0);
    first.send(execute('e1', { lease: 'L1' }));
    first.send(execute('e2', { lease: 'L2' }));
    const run1 = await pool.waitForRun('e1');
    const run2 = await pool.waitForRun('e2');
    run1.started();
    await first.waitFor('started');

    first.end();
    const second = await scheduler.stream(1);
    const hello = await second.waitFor('hello');
    expect(hello.held).toEqual(
      expect.arrayContaining([
        { executionId: 'e1', lease: 'L1' },
        { executionId: 'e2', lease: 'L2' },
      ]),
    );
    await waitUntilTrue(() => run1.abortedWith !== undefined);
    expect(run1.abortedWith).toBe('cancel');
    expect(run2.abortedWith).toBeUndefined();

    run1.log('late line');
    run2.succeed();
    await second.waitFor('result', (r) => r.executionId === 'e2');
    await barrier(second);
    const forE1 = second.messages.filter(
      (m) => m.msg?.$case !== 'hello' && m.msg?.$case !== 'heartbeat' && (m.msg?.value as { executionId?: string }).executionId === 'e1',
    );
    expect(forE1).toEqual([]);
    // And the next Hello no longer claims it.
    second.end();
    const third = await scheduler.stream(2);
    expect((await third.waitFor('hello')).held).toEqual([]);
  });

  it('delivers a result that finished while disconnected right after the next Welcome', async () => {
    const scheduler = await startScheduler();
    const port = scheduler.port;
    const { agent, pool } = await startAgent(scheduler.address);
    const first = await scheduler.stream(0);
    first.send(execute('e1', { lease: 'L1' }));
    const run = await pool.waitForRun('e1');

    await scheduler.close();
    await waitUntilTrue(() => !agent.connected);
    run.started({ initMs: 3 });
    run.log('while away');
    run.succeed('"kept"');
    await run.settled;

    const back = await startScheduler({}, port);
    const stream = await back.stream(0, 10_000);
    const hello = await stream.waitFor('hello');
    // Still announced, so the scheduler could kill it instead.
    expect(hello.held).toEqual([{ executionId: 'e1', lease: 'L1' }]);
    const result = await stream.waitFor('result');
    expect(result).toMatchObject({ executionId: 'e1', lease: 'L1', ok: true, outputJson: '"kept"', initMs: 3 });
    const kinds = stream.messages.map((m) => m.msg?.$case);
    expect(kinds.slice(0, 4)).toEqual(['hello', 'started', 'log', 'result']);
    expect(stream.all('log')[0]!.lines[0]!.message).toBe('while away');
  });

  it('drops a result that finished while disconnected when the Welcome kills it', async () => {
    let round = 0;
    const scheduler = await startScheduler({
      welcome: () => (round++ === 0 ? { heartbeatIntervalMs: 50 } : null),
    });
    const { pool } = await startAgent(scheduler.address);
    const first = await scheduler.stream(0);
    first.send(execute('e1', { lease: 'L1' }));
    const run = await pool.waitForRun('e1');
    first.end();

    // The second stream gets no Welcome until the run has finished.
    const second = await scheduler.stream(1);
    await second.waitFor('hello');
    run.succeed();
    await run.settled;
    second.send({ $case: 'welcome', value: { workerId: '', heartbeatIntervalMs: 50, kill: ['e1'] } });
    await barrier(second);
    expect(second.all('result')).toEqual([]);
  });

  it('forgets the code cache with the stream', async () => {
    const scheduler = await startScheduler();
    const { pool } = await startAgent(scheduler.address);
    pool.autoSucceed = '1';
    const first = await scheduler.stream(0);
    first.send(execute('e1'));
    await first.waitFor('result');
    first.end();
    const second = await scheduler.stream(1);
    await waitUntilTrue(() => agent!.connected);
    second.send(execute('e2', { code: '' }));
    const r = await second.waitFor('result');
    expect(r.error).toMatchObject({ code: 'SANDBOX_CRASH', message: 'code for hello@1 not available' });
  });
});

describe('Drain', () => {
  it('close() stops taking work, lets the in-flight run finish and sends its Result before the stream closes', async () => {
    // A long interval: the draining heartbeat can only be the one close() sends at once.
    const scheduler = await startScheduler({ welcome: () => ({ heartbeatIntervalMs: 60_000 }) });
    const { agent, pool } = await startAgent(scheduler.address, { drainGraceMs: 10_000 });
    const stream = await scheduler.stream(0);
    stream.send(execute('e1', { lease: 'L1' }));
    const run = await pool.waitForRun('e1');

    const closing = agent.close();
    expect(agent.close()).toBe(closing);
    const hb = await stream.waitFor('heartbeat', (h) => h.draining, 2000);
    expect(hb.inFlight).toBe(1);

    stream.send(execute('e2'));
    const refused = await stream.waitFor('result', (r) => r.executionId === 'e2');
    expect(refused.error).toMatchObject({ code: 'WORKER_LOST', message: 'worker draining' });
    expect(stream.isClosed).toBe(false);

    run.succeed('"finished"');
    await closing;
    await stream.closed;
    const result = stream.all('result').find((r) => r.executionId === 'e1');
    expect(result).toMatchObject({ lease: 'L1', ok: true, outputJson: '"finished"' });
    expect(run.abortedWith).toBeUndefined();
    expect(pool.closed).toBe(true);
    expect(agent.state).toBe('closed');
    expect(pool.runs).toHaveLength(1);
  });

  it('aborts runs still going when the grace period ends and reports them as WORKER_LOST', async () => {
    const scheduler = await startScheduler();
    const { agent, pool } = await startAgent(scheduler.address);
    const stream = await scheduler.stream(0);
    stream.send(execute('e1', { lease: 'L1' }));
    const run = await pool.waitForRun('e1');
    await agent.close(100);
    expect(run.abortedWith).toBe('shutdown');
    await stream.closed;
    const result = stream.all('result').find((r) => r.executionId === 'e1');
    expect(result).toMatchObject({ lease: 'L1', ok: false, error: { code: 'WORKER_LOST' } });
  });

  it("drains on the scheduler's Drain and settles `closed`", async () => {
    const scheduler = await startScheduler();
    const { agent, pool } = await startAgent(scheduler.address);
    const stream = await scheduler.stream(0);
    stream.send(execute('e1'));
    const run = await pool.waitForRun('e1');
    stream.send({ $case: 'drain', value: { graceMs: 5000 } });
    await stream.waitFor('heartbeat', (h) => h.draining);
    run.succeed();
    await agent.closed;
    expect(agent.state).toBe('closed');
    expect(pool.closed).toBe(true);
    expect(stream.all('result')).toHaveLength(1);
  });

  it('close() before start() just closes the pool', async () => {
    const pool = new FakePool();
    const a = createWorkerAgent({ pool });
    await a.close();
    expect(a.state).toBe('closed');
    expect(pool.closed).toBe(true);
  });
});
