/**
 * The async retry policy (PROTOCOL.md "Result"), on fake time: an execution whose handler keeps
 * failing gets exactly maxRetries + 1 attempts, and each retry is dispatched exactly at its
 * full-jitter delay floor(random · (min(cap, base · 2^(n−2)) + 1)) — no earlier, no later —
 * with the documented base 1 s and cap 60 s, and with a configured base and cap.
 * The scheduler's real dispatcher, state and registries run against an in-memory store and a
 * fake worker connection that records every Execute with the (fake) time it was sent.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Execute, Result, SchedulerMessage } from '../../proto/gen/taskforge/v1/worker.js';
import { SCHEDULER_DEFAULTS } from '../../scheduler/options.js';
import { createHarness } from '../../scheduler/testing/harness.js';
import type { RegisteredWorker } from '../../scheduler/worker-registry.js';

interface Sent {
  at: number;
  execute: Execute;
}

function harness(retry: { baseMs: number; capMs: number }, randoms: number[]) {
  let i = 0;
  const drawn: number[] = [];
  const random = (): number => {
    const v = randoms[i++ % randoms.length]!;
    drawn.push(v);
    return v;
  };
  // Liveness is not under test: the fake worker never misses a heartbeat on this time scale.
  const h = createHarness({
    retryBaseMs: retry.baseMs,
    retryCapMs: retry.capMs,
    random,
    heartbeatIntervalMs: 24 * 3_600_000,
    maxQueue: 1000,
    retentionMs: 7 * 24 * 3_600_000,
  });
  const { state, functions, executions: manager, dispatcher, registry, store } = h;
  const sent: Sent[] = [];
  const connection = {
    send(m: SchedulerMessage): void {
      if (m.msg?.$case === 'execute') sent.push({ at: Date.now(), execute: m.msg.value });
    },
    end(): void {},
  };
  const registered = registry.register({ workerId: 'w_fake', name: 'fake', capacity: 4, sandbox: 'insecure' }, connection);
  if (!registered.ok) throw new Error('w_fake already connected');
  const { worker } = registered;
  const fail = (w: RegisteredWorker, ex: Execute): void => {
    const now = Date.now();
    const result: Result = {
      executionId: ex.executionId,
      lease: ex.lease,
      ok: false,
      outputJson: '',
      error: { code: 'FUNCTION_ERROR', message: `attempt ${ex.attempt} failed`, name: 'Error', stack: '', detailsJson: '' },
      durationMs: 1,
      cpuMs: 1,
      initMs: 0,
      coldStart: false,
      startedAtMs: now,
      finishedAtMs: now,
    };
    dispatcher.onResult(w, result);
  };
  return { state, functions, manager, dispatcher, registry, worker, sent, drawn, fail, store };
}

/**
 * Runs an async execution whose every attempt fails. Before attempt n + 1 it checks that nothing
 * is dispatched 1 ms before floor(draw · (ceilings[n − 1] + 1)) and that the Execute goes out at
 * exactly that delay. Returns the observed delays and the draws they came from.
 */
async function runFailing(h: ReturnType<typeof harness>, maxRetries: number, ceilings: number[]) {
  await h.functions.put('flaky', { code: 'export default async () => { throw new Error("no") }', maxRetries }, false);
  const { execution } = await h.manager.invoke({ function: 'flaky', version: 0, inputJson: '{}', mode: 'async', idempotencyKey: null, waitMs: 0 });
  await vi.advanceTimersByTimeAsync(0);
  expect(h.sent).toHaveLength(1);
  const delays: number[] = [];
  const draws: number[] = [];
  for (let n = 1; ; n++) {
    const current = h.sent[n - 1]!;
    expect(current.execute.attempt).toBe(n);
    const before = h.drawn.length;
    h.fail(h.worker, current.execute);
    const rec = h.state.index.get(execution.id)!;
    if (rec.status !== 'queued') break;
    // The retry's delay is drawn while the result is applied: exactly one draw.
    expect(h.drawn.length).toBe(before + 1);
    draws.push(h.drawn[h.drawn.length - 1]!);
    const failedAt = Date.now();
    const expected = Math.floor(draws[n - 1]! * (ceilings[n - 1]! + 1));
    expect(rec.retryAt).toBe(failedAt + expected);
    if (expected > 0) {
      await vi.advanceTimersByTimeAsync(expected - 1);
      expect(h.sent, `attempt ${n + 1} dispatched early`).toHaveLength(n);
    }
    await vi.advanceTimersByTimeAsync(expected > 0 ? 1 : 0);
    expect(h.sent, `attempt ${n + 1} not dispatched on time`).toHaveLength(n + 1);
    delays.push(h.sent[n]!.at - failedAt);
  }
  // Nothing more, however long we wait.
  await vi.advanceTimersByTimeAsync(10 * 60_000);
  return { id: execution.id, delays, draws };
}

describe('async retry backoff (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('documented defaults: maxRetries + 1 attempts, each retry at floor(r · (min(60 s, 1 s · 2^(n−2)) + 1))', async () => {
    expect(SCHEDULER_DEFAULTS.retryBaseMs).toBe(1_000);
    expect(SCHEDULER_DEFAULTS.retryCapMs).toBe(60_000);
    const h = harness({ baseMs: SCHEDULER_DEFAULTS.retryBaseMs, capMs: SCHEDULER_DEFAULTS.retryCapMs }, [0.5, 0.999, 0, 0.25, 0.75, 0.1, 0.9]);
    // Ceiling of the delay before attempt n = 2…11: 1, 2, 4, 8, 16, 32 s, then capped at 60 s.
    const ceilings = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000];
    const { id, delays, draws } = await runFailing(h, 10, ceilings);

    expect(h.sent).toHaveLength(11);
    expect(delays).toEqual(ceilings.map((c, k) => Math.floor(draws[k]! * (c + 1))));
    delays.forEach((d, k) => expect(d).toBeLessThanOrEqual(ceilings[k]!));

    const rec = h.state.index.get(id)!;
    expect(rec).toMatchObject({ status: 'failed', attempt: 11, maxAttempts: 11, error: { code: 'FUNCTION_ERROR', message: 'attempt 11 failed' } });
    expect(rec.attempts!.map((a) => [a.attempt, a.errorCode])).toEqual(Array.from({ length: 11 }, (_, k) => [k + 1, 'FUNCTION_ERROR']));
    expect(h.store.executions.get(id)).toMatchObject({ status: 'failed', attempt: 11 });
  });

  it('configured base and cap: the same formula under min(cap, base · 2^(n−2))', async () => {
    const h = harness({ baseMs: 100, capMs: 250 }, [0.999, 0.5, 0.2]);
    const ceilings = [100, 200, 250, 250];
    const { delays, draws } = await runFailing(h, 4, ceilings);
    expect(h.sent.map((s) => s.execute.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(delays).toEqual(ceilings.map((c, k) => Math.floor(draws[k]! * (c + 1))));
  });

  it('maxRetries 0: one attempt and no retry', async () => {
    const h = harness({ baseMs: 1_000, capMs: 60_000 }, [0.5]);
    const { id, delays } = await runFailing(h, 0, []);
    expect(h.sent).toHaveLength(1);
    expect(delays).toEqual([]);
    expect(h.state.index.get(id)).toMatchObject({ status: 'failed', attempt: 1 });
  });
});
