/**
 * Two bugs seen in the field, each pinned at its cause:
 * - the queue expiry fired by a timer whose clock ran ~1 ms ahead of the wall clock, and failed
 *   the execution 999 ms into a 1,000 ms maxQueueMs (test/faults/max-age saw it now and then);
 * - a heartbeat's warm list, snapshotted before the worker had loaded what was in flight to it,
 *   replaced the scheduler's warm set, so the next invoke landed cold on another worker.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Heartbeat, Result } from '../../proto/gen/taskforge/v1/worker.js';
import { createHarness, executes, flushMicrotasks, type Harness } from '../testing/harness.js';

const CODE = 'export default async (e) => e';
let h: Harness;
afterEach(() => {
  h?.close();
  vi.useRealTimers();
});

describe('queue expiry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00.000Z') });
  });

  it('a timer that fires before the wall clock reaches maxQueueMs does not fail the execution early', async () => {
    // The wall clock the scheduler reads falls 1 ms behind the timers' clock after the invoke.
    let lagMs = 0;
    h = createHarness({ now: () => Date.now() - lagMs });
    await h.functions.put('f', { code: CODE, maxQueueMs: 1_000 }, false);
    const { execution } = await h.executions.invoke({ function: 'f', version: 0, inputJson: '{}', mode: 'async', idempotencyKey: null, waitMs: 0 });
    lagMs = 1;
    await vi.advanceTimersByTimeAsync(1_000);
    const rec = h.state.index.get(execution.id)!;
    // The timer has fired, but by the scheduler's clock only 999 ms have passed.
    expect(rec.status).toBe('queued');
    await vi.advanceTimersByTimeAsync(1);
    expect(rec.status).toBe('failed');
    expect(rec.error?.code).toBe('EXPIRED');
    expect(Date.parse(rec.finishedAt!) - Date.parse(rec.createdAt)).toBe(1_000);
  });
});

describe('warm set', () => {
  it('a heartbeat snapshotted before a cold start finished does not make the next invoke cold on another worker', async () => {
    // Placement draws: the first (cold, two equal workers) picks the last, later draws the first.
    const draws = [0.99];
    h = createHarness({ random: () => draws.shift() ?? 0 });
    await h.functions.put('f', { code: CODE }, false);
    const a = h.connect('w_a');
    const b = h.connect('w_b');
    await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    await flushMicrotasks();
    const [first] = executes(b.sent);
    expect(first).toBeDefined();
    // w_b's heartbeat was taken while the sandbox was still loading: nothing warm yet.
    const beat: Heartbeat = {
      inFlight: 1,
      capacity: 2,
      warm: [],
      rssBytes: 1,
      seq: 1,
      draining: false,
      sandboxesBusy: 0,
      sandboxesIdle: 0,
      sandboxesPrewarmed: 0,
    };
    h.registry.heartbeat(b.worker, beat);
    h.dispatcher.onResult(b.worker, okResult(first!.executionId, first!.lease));
    await h.executions.invoke({ function: 'f', version: 0, inputJson: '2', mode: 'async', idempotencyKey: null, waitMs: 0 });
    await flushMicrotasks();
    expect(executes(a.sent)).toHaveLength(0);
    const [, second] = executes(b.sent);
    expect(second).toBeDefined();
    expect(h.state.index.get(second!.executionId)?.placement).toMatchObject({ workerId: 'w_b', warm: true });
  });

  it('the next heartbeat after the run is the truth: a sandbox the worker no longer has is not warm', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE }, false);
    const b = h.connect('w_b');
    await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    await flushMicrotasks();
    const [ex] = executes(b.sent);
    h.dispatcher.onResult(b.worker, okResult(ex!.executionId, ex!.lease));
    h.registry.heartbeat(b.worker, {
      inFlight: 0,
      capacity: 2,
      warm: [],
      rssBytes: 1,
      seq: 2,
      draining: false,
      sandboxesBusy: 0,
      sandboxesIdle: 0,
      sandboxesPrewarmed: 0,
    });
    expect([...b.worker.warm]).toEqual([]);
  });
});

function okResult(executionId: string, lease: string): Result {
  const now = Date.now();
  return {
    executionId,
    lease,
    ok: true,
    outputJson: '1',
    error: undefined,
    durationMs: 1,
    initMs: 1,
    cpuMs: 1,
    coldStart: true,
    startedAtMs: now,
    finishedAtMs: now,
  };
}
