import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryLog } from '../../test/helpers/memory-log.js';
import { PoolSupervisor, type WorkerHandle } from './supervisor.js';

/** A worker process stand-in: exits when told to, or when the test says it crashed. */
interface FakeWorker extends WorkerHandle {
  index: number;
  signals: string[];
  exit(code: number): void;
}

function fakes() {
  const spawned: FakeWorker[] = [];
  const spawn = (index: number): FakeWorker => {
    let exit!: (code: number) => void;
    const exited = new Promise<number>((r) => (exit = r));
    const w: FakeWorker = {
      index,
      signals: [],
      exited,
      exit: (code) => exit(code),
      stop: () => w.signals.push('SIGTERM'),
      kill: () => {
        w.signals.push('SIGKILL');
        exit(137);
      },
    };
    spawned.push(w);
    return w;
  };
  return { spawned, spawn };
}

const live = (ws: FakeWorker[]): FakeWorker[] => ws.filter((w) => w.signals.length === 0);

let sup: PoolSupervisor | undefined;
beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  vi.useRealTimers();
  sup = undefined;
});

function supervisor(spawn: (i: number) => WorkerHandle, changes = { n: 0 }): PoolSupervisor {
  sup = new PoolSupervisor({
    spawn,
    restartBaseMs: 100,
    restartCapMs: 1_000,
    healthyAfterMs: 5_000,
    stopGraceMs: 2_000,
    log: memoryLog().logger,
    onChange: () => (changes.n += 1),
    random: () => 0.999,
  });
  return sup;
}

describe('PoolSupervisor', () => {
  it('starts one worker per slot up to the target, numbered from 1', () => {
    const f = fakes();
    const s = supervisor(f.spawn);
    s.setTarget(3);
    expect(f.spawned.map((w) => w.index)).toEqual([1, 2, 3]);
    expect(s.current).toBe(3);
    expect(s.target).toBe(3);
  });

  it('restarts a worker that dies, after a backoff that grows while it keeps dying', async () => {
    const f = fakes();
    const s = supervisor(f.spawn);
    s.setTarget(1);
    f.spawned[0]!.exit(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(s.current).toBe(0);
    // Window 100 ms at the first attempt (random pinned near 1): not before 99 ms.
    await vi.advanceTimersByTimeAsync(98);
    expect(f.spawned).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(f.spawned).toHaveLength(2);
    expect(s.restarts(1)).toBe(1);
    // Dies again at once: the next window is 200 ms.
    f.spawned[1]!.exit(1);
    await vi.advanceTimersByTimeAsync(150);
    expect(f.spawned).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(50);
    expect(f.spawned).toHaveLength(3);
    expect(f.spawned[2]!.index).toBe(1);
  });

  it('a worker that ran past healthyAfterMs is restarted from the base delay again', async () => {
    const f = fakes();
    const s = supervisor(f.spawn);
    s.setTarget(1);
    for (let i = 0; i < 3; i++) {
      f.spawned.at(-1)!.exit(1);
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(f.spawned).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(5_000);
    f.spawned.at(-1)!.exit(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(f.spawned).toHaveLength(5);
  });

  it('scaling down sends SIGTERM to the highest slots, which drain and are not restarted', async () => {
    const f = fakes();
    const changes = { n: 0 };
    const s = supervisor(f.spawn, changes);
    s.setTarget(3);
    s.setTarget(1);
    expect(f.spawned.map((w) => w.signals)).toEqual([[], ['SIGTERM'], ['SIGTERM']]);
    expect(s.current).toBe(1);
    expect(s.retiring).toBe(2);
    const before = changes.n;
    f.spawned[1]!.exit(0);
    f.spawned[2]!.exit(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.retiring).toBe(0);
    expect(changes.n).toBe(before + 2);
    expect(f.spawned).toHaveLength(3);
  });

  it('scaling down cancels the restart of a slot whose worker had died', async () => {
    const f = fakes();
    const s = supervisor(f.spawn);
    s.setTarget(2);
    f.spawned[1]!.exit(1);
    await vi.advanceTimersByTimeAsync(0);
    s.setTarget(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(f.spawned).toHaveLength(2);
    expect(s.current).toBe(1);
  });

  it('close() stops every worker with SIGTERM and resolves when all have exited', async () => {
    const f = fakes();
    const s = supervisor(f.spawn);
    s.setTarget(2);
    let done = false;
    void s.close().then(() => (done = true));
    expect(live(f.spawned)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    f.spawned[0]!.exit(0);
    f.spawned[1]!.exit(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    expect(f.spawned.map((w) => w.signals)).toEqual([['SIGTERM'], ['SIGTERM']]);
  });

  it('close() SIGKILLs a worker that has not drained within the grace period, and is idempotent', async () => {
    const f = fakes();
    const s = supervisor(f.spawn);
    s.setTarget(1);
    const first = s.close();
    expect(s.close()).toBe(first);
    await vi.advanceTimersByTimeAsync(2_000);
    await first;
    expect(f.spawned[0]!.signals).toEqual(['SIGTERM', 'SIGKILL']);
    s.setTarget(3);
    expect(f.spawned).toHaveLength(1);
  });

  it('a worker that cannot be spawned is retried with backoff, not thrown to the caller', async () => {
    let fail = true;
    const f = fakes();
    const s = supervisor((i) => {
      if (fail) throw new Error('EAGAIN');
      return f.spawn(i);
    });
    s.setTarget(1);
    expect(s.current).toBe(0);
    fail = false;
    await vi.advanceTimersByTimeAsync(100);
    expect(s.current).toBe(1);
  });

  it('refuses a target that is not a non-negative integer', () => {
    const s = supervisor(fakes().spawn);
    expect(() => s.setTarget(-1)).toThrow(RangeError);
    expect(() => s.setTarget(1.5)).toThrow(RangeError);
  });
});
