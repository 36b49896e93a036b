import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RunGuard } from './run-guard.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RunGuard', () => {
  it('fires TIMEOUT at the deadline and runs the kill callback once', async () => {
    const kill = vi.fn();
    const guard = new RunGuard({ deadlineMs: Date.now() + 500, timeoutMs: 500 });
    guard.onFire(kill);
    await vi.advanceTimersByTimeAsync(499);
    expect(guard.error).toBeNull();
    expect(kill).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(guard.error).toEqual({ code: 'TIMEOUT', message: 'timed out after 500 ms' });
    expect(guard.killReason).toBe('timeout');
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('fires at once for a deadline in the past, and calls a later onFire immediately', () => {
    const guard = new RunGuard({ deadlineMs: Date.now() - 1, timeoutMs: 100 });
    expect(guard.error?.code).toBe('TIMEOUT');
    const kill = vi.fn();
    guard.onFire(kill);
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('re-arms deadlines beyond the 32-bit timer range instead of firing early', async () => {
    const guard = new RunGuard({ deadlineMs: Date.now() + 2 ** 31 + 1000, timeoutMs: 1 });
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(guard.error).toBeNull();
    await vi.advanceTimersByTimeAsync(1000);
    expect(guard.error?.code).toBe('TIMEOUT');
  });

  it.each([
    ['cancel', 'CANCELLED', 'cancelled'],
    [undefined, 'CANCELLED', 'cancelled'],
    ['shutdown', 'WORKER_LOST', 'cancelled'],
    [{ code: 'FUNCTION_DELETED', message: 'gone' }, 'FUNCTION_DELETED', 'cancelled'],
  ])('maps abort reason %j to %s', (reason, code, killReason) => {
    const controller = new AbortController();
    const guard = new RunGuard({ deadlineMs: Date.now() + 1000, timeoutMs: 1000, signal: controller.signal });
    const kill = vi.fn();
    guard.onFire(kill);
    controller.abort(reason);
    expect(guard.error?.code).toBe(code);
    expect(guard.killReason).toBe(killReason);
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('ignores the signal and the timer after dispose', async () => {
    const controller = new AbortController();
    const guard = new RunGuard({ deadlineMs: Date.now() + 100, timeoutMs: 100, signal: controller.signal });
    const kill = vi.fn();
    guard.onFire(kill);
    guard.dispose();
    controller.abort('cancel');
    await vi.advanceTimersByTimeAsync(200);
    expect(kill).not.toHaveBeenCalled();
    expect(guard.error).toBeNull();
  });
});
