import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OptionsError } from '../../common/options-error.js';
import { decide, initialMemory, neededWorkers, validateAutoscaleOptions, type AutoscaleMemory, type AutoscaleOptions, type LoadSample } from './autoscale.js';

const OPTS: AutoscaleOptions = { minWorkers: 1, maxWorkers: 5, workerCapacity: 2, targetLoad: 0.8, upCooldownMs: 1_000, downCooldownMs: 10_000 };

/** Feeds one report a second, as the scheduler sends them, and keeps the autoscaler's state. */
function driver(start: number, o: AutoscaleOptions = OPTS) {
  let target = start;
  let memory: AutoscaleMemory = initialMemory(Date.now());
  const reasons: string[] = [];
  return {
    get target() {
      return target;
    },
    reasons,
    async report(sample: LoadSample, afterMs = 1_000): Promise<number> {
      await vi.advanceTimersByTimeAsync(afterMs);
      const d = decide(target, sample, memory, Date.now(), o);
      target = d.target;
      memory = d.memory;
      reasons.push(d.reason);
      return target;
    },
  };
}

const idle: LoadSample = { queueDepth: 0, inFlight: 0 };

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('neededWorkers', () => {
  it('sizes queued plus in-flight executions to the target load of each worker, within min and max', () => {
    expect(neededWorkers(idle, OPTS)).toBe(1);
    // 3 of demand over 2 slots at 80 %: 1.6 slots-worth each → 2 workers.
    expect(neededWorkers({ queueDepth: 1, inFlight: 2 }, OPTS)).toBe(2);
    expect(neededWorkers({ queueDepth: 100, inFlight: 10 }, OPTS)).toBe(5);
    expect(neededWorkers({ queueDepth: 0, inFlight: 0 }, { ...OPTS, minWorkers: 0 })).toBe(0);
  });
});

describe('decide', () => {
  it('scales up to what a backlog needs once the up cooldown has passed, never past max', async () => {
    const d = driver(1);
    expect(await d.report({ queueDepth: 6, inFlight: 2 })).toBe(5);
    expect(d.reasons).toEqual(['scale_up']);
    expect(await d.report({ queueDepth: 50, inFlight: 10 })).toBe(5);
  });

  it('waits out the up cooldown after a change before scaling up again', async () => {
    const d = driver(1);
    expect(await d.report({ queueDepth: 2, inFlight: 1 })).toBe(2);
    expect(await d.report({ queueDepth: 6, inFlight: 3 }, 500)).toBe(2);
    expect(d.reasons.at(-1)).toBe('up_cooldown');
    expect(await d.report({ queueDepth: 6, inFlight: 3 }, 500)).toBe(5);
  });

  it('scales down only after the load stayed low for the whole down cooldown', async () => {
    const d = driver(4);
    // The window opens at the first low report and must last 10 s: ten reports later.
    for (let i = 0; i < 10; i++) expect(await d.report(idle)).toBe(4);
    expect(d.reasons.every((r) => r === 'down_window')).toBe(true);
    expect(await d.report(idle)).toBe(1);
    expect(d.reasons.at(-1)).toBe('scale_down');
  });

  it('a report that needs the current count again restarts the down window (no flapping on a bursty load)', async () => {
    const d = driver(4);
    for (let i = 0; i < 8; i++) await d.report(idle);
    // A burst that needs the four workers: the window starts over.
    expect(await d.report({ queueDepth: 1, inFlight: 5 })).toBe(4);
    expect(d.reasons.at(-1)).toBe('hold');
    for (let i = 0; i < 10; i++) expect(await d.report(idle)).toBe(4);
    expect(await d.report(idle)).toBe(1);
  });

  it('steps down to the most workers the low window needed, not to its last report', async () => {
    const d = driver(5);
    await d.report({ queueDepth: 0, inFlight: 4 }); // needs 3
    for (let i = 0; i < 10; i++) await d.report(idle);
    expect(d.target).toBe(3);
  });

  it('a scale-up starts the down window afresh: a short spike is not followed by a quick drop', async () => {
    const d = driver(1);
    expect(await d.report({ queueDepth: 8, inFlight: 0 })).toBe(5);
    for (let i = 0; i < 10; i++) expect(await d.report(idle)).toBe(5);
    expect(await d.report(idle)).toBe(1);
  });

  it('brings a target outside the bounds back within them at once', () => {
    const now = Date.now();
    expect(decide(9, idle, initialMemory(now), now, OPTS).target).toBe(5);
    expect(decide(0, idle, initialMemory(now), now, OPTS).target).toBe(1);
  });

  it('holds when the load needs exactly the current count', async () => {
    const d = driver(2);
    expect(await d.report({ queueDepth: 0, inFlight: 3 })).toBe(2);
    expect(d.reasons).toEqual(['hold']);
  });
});

describe('validateAutoscaleOptions', () => {
  it.each([
    [{ minWorkers: -1 }, 'minWorkers'],
    [{ maxWorkers: 0 }, 'maxWorkers'],
    [{ minWorkers: 4, maxWorkers: 3 }, 'maxWorkers'],
    [{ workerCapacity: 0 }, 'workerCapacity'],
    [{ targetLoad: 0 }, 'targetLoad'],
    [{ targetLoad: 1.5 }, 'targetLoad'],
    [{ upCooldownMs: -1 }, 'cooldown'],
  ])('refuses %o', (bad, option) => {
    expect(() => validateAutoscaleOptions({ ...OPTS, ...bad })).toThrow(OptionsError);
    try {
      validateAutoscaleOptions({ ...OPTS, ...bad });
    } catch (err) {
      expect((err as OptionsError).option).toBe(option);
    }
  });

  it('freezes what it accepts', () => {
    expect(Object.isFrozen(validateAutoscaleOptions(OPTS))).toBe(true);
  });
});
