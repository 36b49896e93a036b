/**
 * Agent tests against a real gRPC server playing the scheduler, with a fake sandbox pool.
 * Sections are named after proto/PROTOCOL.md: Handshake, Heartbeat, Dispatch, Cancel.
 * (Reconnect and Drain live in agent-reconnect.test.ts.)
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.js';
import { createWorkerAgent, type WorkerAgent } from './agent.js';
import { FakePool } from './testing/fake-pool.js';
import { execute, waitUntilTrue } from './testing/fixtures.js';
import { ScriptedScheduler, type ScriptedSchedulerOptions } from './testing/scripted-scheduler.js';
import type { WorkerOptions } from './worker-options.js';

let scheduler: ScriptedScheduler | null = null;
let agent: WorkerAgent | null = null;

async function setup(
  agentOpts: Partial<WorkerOptions> = {},
  schedOpts: ScriptedSchedulerOptions = {},
): Promise<{ scheduler: ScriptedScheduler; agent: WorkerAgent; pool: FakePool }> {
  scheduler = await ScriptedScheduler.start(schedOpts);
  const pool = new FakePool();
  agent = createWorkerAgent({
    schedulerAddress: scheduler.address,
    pool,
    name: 'test-worker',
    capacity: 2,
    reconnectBaseMs: 10,
    reconnectCapMs: 50,
    startedReportDelayMs: 0,
    ...agentOpts,
  });
  await agent.start();
  return { scheduler, agent, pool };
}

afterEach(async () => {
  await agent?.close(0);
  await scheduler?.close();
  agent = null;
  scheduler = null;
});

describe('Handshake', () => {
  it('sends Hello with id, name, capacity, runtimes, no held executions and the agent version', async () => {
    const { scheduler, agent } = await setup({ capacity: 3 });
    const stream = await scheduler.stream(0);
    const hello = await stream.waitFor('hello');
    expect(hello.workerId).toBe(agent.id);
    expect(hello.workerId).toMatch(/^w_/);
    expect(hello.name).toBe('test-worker');
    expect(hello.capacity).toBe(3);
    expect(hello.runtimes).toEqual(['nodejs']);
    expect(hello.held).toEqual([]);
    expect(hello.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(stream.messages[0]?.msg?.$case).toBe('hello');
    expect(agent.connected).toBe(true);
    expect(agent.state).toBe('running');
  });

  it('start() resolves when the scheduler is down, and the agent connects once it comes up', async () => {
    const probe = await ScriptedScheduler.start();
    const port = probe.port;
    await probe.close();
    const pool = new FakePool();
    agent = createWorkerAgent({ schedulerAddress: `127.0.0.1:${port}`, pool, reconnectBaseMs: 10, reconnectCapMs: 50 });
    await agent.start();
    expect(agent.connected).toBe(false);
    expect(agent.state).toBe('running');

    scheduler = await ScriptedScheduler.start({}, port);
    const stream = await scheduler.stream(0, 10_000);
    await stream.waitFor('hello');
    await waitUntilTrue(() => agent!.connected);
  });

  it('abandons a stream that gets no Welcome in time and tries again', async () => {
    const { scheduler, agent } = await setup({ welcomeTimeoutMs: 200 }, { welcome: () => null });
    expect(agent.connected).toBe(false);
    const first = await scheduler.stream(0);
    await first.closed;
    const second = await scheduler.stream(1);
    await second.waitFor('hello');
    expect(scheduler.maxOpenStreams).toBe(1);
  });
});

describe('Heartbeat', () => {
  it('beats at the interval the Welcome names, reporting load, warm sandboxes, memory and a growing seq', async () => {
    const { scheduler } = await setup({}, { welcome: () => ({ heartbeatIntervalMs: 100 }) });
    const stream = await scheduler.stream(0);
    const t0 = Date.now();
    // Three beats at the 1000 ms default would take 3 s; at 100 ms they come in about 0.3 s.
    const third = await stream.waitFor('heartbeat', (hb) => hb.seq >= 3, 2500);
    expect(Date.now() - t0).toBeLessThan(2500);
    const beats = stream.all('heartbeat');
    expect(beats.map((b) => b.seq)).toEqual([1, 2, 3].slice(0, beats.length));
    expect(third.capacity).toBe(2);
    expect(third.inFlight).toBe(0);
    expect(third.warm).toEqual(['hello@1']);
    expect(third.rssBytes).toBeGreaterThan(1234);
    expect(third.draining).toBe(false);
  });

  it('reports in-flight runs', async () => {
    const { scheduler, pool } = await setup({}, { welcome: () => ({ heartbeatIntervalMs: 50 }) });
    const stream = await scheduler.stream(0);
    stream.send(execute('e1'));
    await pool.waitForRun('e1');
    const hb = await stream.waitFor('heartbeat', (h) => h.inFlight === 1);
    expect(hb.inFlight).toBe(1);
  });
});

describe('Dispatch', () => {
  it('runs an Execute and answers Started, LogChunk and Result, each with the lease', async () => {
    const { scheduler, pool } = await setup();
    const stream = await scheduler.stream(0);
    stream.send(execute('e1', { lease: 'lease-7', input: '{"a":2}' }));
    const run = await pool.waitForRun('e1');
    expect(run.req.fn).toMatchObject({ name: 'hello', version: 1, handler: 'default', env: { GREETING: 'hi' }, code: 'export default async () => 1' });
    expect(run.req.inputJson).toBe('{"a":2}');
    expect(run.req.attempt).toBe(1);
    expect(run.req.deadlineMs).toBeGreaterThan(Date.now());
    expect(run.req.signal?.aborted).toBe(false);

    run.started({ coldStart: true, initMs: 12 });
    const started = await stream.waitFor('started');
    expect(started).toMatchObject({ executionId: 'e1', lease: 'lease-7', coldStart: true, initMs: 12 });

    run.log('one');
    run.log('two', 'stderr');
    run.succeed('{"answer":42}');
    const result = await stream.waitFor('result');
    expect(result).toMatchObject({ executionId: 'e1', lease: 'lease-7', ok: true, outputJson: '{"answer":42}', coldStart: true, initMs: 12 });
    expect(result.finishedAtMs).toBeGreaterThanOrEqual(result.startedAtMs);

    const chunks = stream.all('log');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ executionId: 'e1', lease: 'lease-7', truncated: false });
    expect(chunks[0]!.lines.map((l) => [l.stream, l.message])).toEqual([
      ['stdout', 'one'],
      ['stderr', 'two'],
    ]);
    expect(chunks[0]!.lines[0]!.tsMs).toBeGreaterThan(0);
    // Logs are flushed before the Result goes out.
    const kinds = stream.messages.map((m) => m.msg?.$case);
    expect(kinds.indexOf('log')).toBeLessThan(kinds.indexOf('result'));
  });

  it('a run that finishes within startedReportDelayMs sends no Started: its Result carries the same fields', async () => {
    const { scheduler, pool } = await setup({ startedReportDelayMs: 60_000 });
    const stream = await scheduler.stream(0);
    stream.send(execute('fast'));
    const run = await pool.waitForRun('fast');
    run.started({ coldStart: true, initMs: 4 });
    run.succeed('1');
    const result = await stream.waitFor('result');
    expect(result).toMatchObject({ executionId: 'fast', coldStart: true, initMs: 4 });
    expect(stream.all('started')).toEqual([]);
  });

  it('a run still going after startedReportDelayMs sends Started before its Result', async () => {
    const { scheduler, pool } = await setup({ startedReportDelayMs: 30 });
    const stream = await scheduler.stream(0);
    stream.send(execute('slow'));
    const run = await pool.waitForRun('slow');
    run.started({ coldStart: false, initMs: 0 });
    const started = await stream.waitFor('started');
    expect(started).toMatchObject({ executionId: 'slow', coldStart: false });
    run.succeed('2');
    await stream.waitFor('result');
    const kinds = stream.messages.map((m) => m.msg?.$case).filter((k) => k === 'started' || k === 'result');
    expect(kinds).toEqual(['started', 'result']);
  });

  it('logs each execution at debug level with its id and the worker id', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    const logger = createLogger({ component: 'worker', level: 'debug', destination });
    const { scheduler, pool, agent } = await setup({ logger });
    const stream = await scheduler.stream(0);
    stream.send(execute('e1'));
    (await pool.waitForRun('e1')).succeed();
    await stream.waitFor('result');
    const dispatched = lines.find((l) => l.msg === 'dispatched');
    expect(dispatched).toMatchObject({ executionId: 'e1', workerId: agent.id, lease: 'l-e1', fn: 'hello@1' });
    expect(lines.find((l) => l.msg === 'finished')).toMatchObject({ executionId: 'e1', ok: true });
  });

  it('sends a handler failure with its name, message and stack', async () => {
    const { scheduler, pool } = await setup();
    const stream = await scheduler.stream(0);
    stream.send(execute('e1'));
    const run = await pool.waitForRun('e1');
    run.fail({ code: 'FUNCTION_ERROR', message: 'boom', name: 'TypeError', stack: 'TypeError: boom\n    at handler' });
    const result = await stream.waitFor('result');
    expect(result.ok).toBe(false);
    expect(result.error).toEqual({ code: 'FUNCTION_ERROR', message: 'boom', name: 'TypeError', stack: 'TypeError: boom\n    at handler', detailsJson: '' });
  });

  it("sends the thrown error's details as details_json", async () => {
    const { scheduler, pool } = await setup();
    const stream = await scheduler.stream(0);
    stream.send(execute('e1'));
    const run = await pool.waitForRun('e1');
    run.fail({ code: 'FUNCTION_ERROR', message: 'boom', name: 'Error', detailsJson: '{"code":"E_BOOM"}' });
    const result = await stream.waitFor('result');
    expect(result.error).toMatchObject({ code: 'FUNCTION_ERROR', detailsJson: '{"code":"E_BOOM"}' });
  });

  it('runs an Execute without code from the stream cache, and fails one whose code never came', async () => {
    const { scheduler, pool } = await setup();
    pool.autoSucceed = '1';
    const stream = await scheduler.stream(0);
    stream.send(execute('e1', { code: 'export default () => "v1"' }));
    await stream.waitFor('result', (r) => r.executionId === 'e1');

    stream.send(execute('e2', { code: '' }));
    const r2 = await stream.waitFor('result', (r) => r.executionId === 'e2');
    expect(r2.ok).toBe(true);
    expect((await pool.waitForRun('e2')).req.fn.code).toBe('export default () => "v1"');

    stream.send(execute('e3', { version: 2, code: '' }));
    const r3 = await stream.waitFor('result', (r) => r.executionId === 'e3');
    expect(r3).toMatchObject({ ok: false, lease: 'l-e3', error: { code: 'SANDBOX_CRASH', message: 'code for hello@2 not available' } });
    expect(pool.runs.map((r) => r.req.executionId)).toEqual(['e1', 'e2']);
  });

  it('answers an Execute beyond capacity with WORKER_LOST at once, and still caches its code', async () => {
    const { scheduler, pool } = await setup({ capacity: 2 });
    const stream = await scheduler.stream(0);
    stream.send(execute('e1'));
    stream.send(execute('e2'));
    stream.send(execute('e3', { name: 'other', code: 'export default () => "other"' }));
    const r3 = await stream.waitFor('result', (r) => r.executionId === 'e3');
    expect(r3).toMatchObject({ ok: false, lease: 'l-e3', error: { code: 'WORKER_LOST', message: 'worker at capacity' } });
    expect(pool.runs).toHaveLength(2);

    (await pool.waitForRun('e1')).succeed();
    await stream.waitFor('result', (r) => r.executionId === 'e1');
    // The scheduler considers other@1's code carried on this stream, so it re-sends without it.
    stream.send(execute('e4', { name: 'other', code: '' }));
    const run4 = await pool.waitForRun('e4');
    expect(run4.req.fn.code).toBe('export default () => "other"');
  });
});

describe('Cancel', () => {
  it('aborts the run with reason cancel and sends the CANCELLED result', async () => {
    const { scheduler, pool } = await setup();
    const stream = await scheduler.stream(0);
    stream.send(execute('e1', { lease: 'L1' }));
    const run = await pool.waitForRun('e1');
    stream.send({ $case: 'cancel', value: { executionId: 'e1', lease: 'L1', reason: 'user' } });
    const result = await stream.waitFor('result');
    expect(run.abortedWith).toBe('cancel');
    expect(result).toMatchObject({ executionId: 'e1', lease: 'L1', ok: false, error: { code: 'CANCELLED' } });
  });

  it('ignores a Cancel for another lease or an unknown execution', async () => {
    const { scheduler, pool } = await setup({}, { welcome: () => ({ heartbeatIntervalMs: 50 }) });
    const stream = await scheduler.stream(0);
    stream.send(execute('e1', { lease: 'L1' }));
    const run = await pool.waitForRun('e1');
    stream.send({ $case: 'cancel', value: { executionId: 'e1', lease: 'OLD', reason: '' } });
    stream.send({ $case: 'cancel', value: { executionId: 'nope', lease: 'L1', reason: '' } });
    // A heartbeat after the cancels proves the agent has processed them.
    const seen = stream.all('heartbeat').length;
    await stream.waitFor('heartbeat', (h) => h.seq > seen + 1);
    expect(run.abortedWith).toBeUndefined();
    expect(run.req.signal?.aborted).toBe(false);
  });
});
