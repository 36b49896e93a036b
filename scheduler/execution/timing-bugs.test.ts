/**
 * Bugs seen in the field, each pinned at its cause:
 * - the queue expiry fired by a timer whose clock ran ~1 ms ahead of the wall clock, and failed
 *   the execution 999 ms into a 1,000 ms maxQueueMs (test/faults/max-age saw it now and then).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHarness, type Harness } from '../testing/harness.js';

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

function okResult(executionId: string, lease: string): Result {
  const now = Date.now();
  return { executionId, lease, ok: true, outputJson: '1', error: undefined, durationMs: 1, initMs: 1, cpuMs: 1, coldStart: true, startedAtMs: now, finishedAtMs: now };
}
