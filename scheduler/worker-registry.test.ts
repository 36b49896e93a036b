import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WorkerClaims } from './worker-claims.js';
import { WorkerRegistry, type LossReason, type RegisteredWorker } from './worker-registry.js';

const hello = (id: string): WorkerClaims => ({ workerId: id, name: id, capacity: 2, sandbox: 'insecure' });
const conn = () => ({ send: vi.fn(), end: vi.fn() });
function register(reg: WorkerRegistry, id: string, c = conn()): RegisteredWorker {
  const r = reg.register(hello(id), c);
  if (!r.ok) throw new Error(`${id} refused`);
  return r.worker;
}
const hb = { inFlight: 0, capacity: 2, warm: ['f@1'], rssBytes: 1, seq: 1, draining: false, sandboxesBusy: 0, sandboxesIdle: 0, sandboxesPrewarmed: 0 };

describe('worker registry liveness', () => {
  let lost: [string, LossReason][];
  let reg: WorkerRegistry;
  beforeEach(() => {
    vi.useFakeTimers();
    lost = [];
    reg = new WorkerRegistry({
      heartbeatIntervalMs: 1000,
      missedHeartbeats: 3,
      forgetLostAfterMs: 60_000,
      onLost: (w: RegisteredWorker, r) => lost.push([w.id, r]),
    });
  });
  afterEach(() => {
    reg.close();
    vi.useRealTimers();
  });

  it('marks a worker lost after three silent intervals', async () => {
    const worker = register(reg, 'w_a');
    await vi.advanceTimersByTimeAsync(2999);
    expect(worker.status).toBe('ready');
    await vi.advanceTimersByTimeAsync(1);
    expect(worker.status).toBe('lost');
    expect(lost).toEqual([['w_a', 'heartbeat_missed']]);
  });

  it('every heartbeat pushes the loss bound out again', async () => {
    const worker = register(reg, 'w_a');
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(2500);
      reg.heartbeat(worker, hb);
    }
    expect(worker.status).toBe('ready');
    expect([...worker.warm]).toEqual(['f@1']);
    await vi.advanceTimersByTimeAsync(3000);
    expect(worker.status).toBe('lost');
  });

  it('a closed stream makes the worker lost at once, once', () => {
    const c = conn();
    const worker = register(reg, 'w_a', c);
    reg.streamClosed(worker);
    reg.streamClosed(worker);
    expect(lost).toEqual([['w_a', 'stream_closed']]);
    expect(c.end).toHaveBeenCalled();
  });

  it('a Hello for an id with a live entry is refused: the live worker keeps its stream', () => {
    const c1 = conn();
    const first = reg.register(hello('w_a'), c1);
    const second = reg.register({ ...hello('w_a'), name: 'impostor', capacity: 1024 }, conn());
    expect(second).toEqual({ ok: false, live: first.ok && first.worker });
    expect(c1.end).not.toHaveBeenCalled();
    expect(lost).toEqual([]);
    expect(reg.live().map((w) => [w.name, w.capacity, w.status])).toEqual([['w_a', 2, 'ready']]);
  });

  it('the same id registers again once its entry is lost (stream closed or heartbeats stopped)', async () => {
    const first = register(reg, 'w_a');
    reg.streamClosed(first);
    const second = register(reg, 'w_a');
    expect(second).not.toBe(first);
    expect(reg.live()).toEqual([second]);
    // the old stream closing again later does not touch the new entry
    reg.streamClosed(first);
    expect(second.status).toBe('ready');
    await vi.advanceTimersByTimeAsync(3000);
    expect(second.status).toBe('lost');
    const third = register(reg, 'w_a');
    expect(reg.live()).toEqual([third]);
    expect(lost).toEqual([
      ['w_a', 'stream_closed'],
      ['w_a', 'heartbeat_missed'],
    ]);
  });

  it('a draining heartbeat makes the worker ineligible for placement', () => {
    const worker = register(reg, 'w_a');
    reg.heartbeat(worker, { ...hb, draining: true });
    expect(worker.status).toBe('draining');
    expect(worker.ready).toBe(false);
  });

  it('forgets a lost worker after forgetLostAfterMs', async () => {
    const worker = register(reg, 'w_a');
    reg.streamClosed(worker);
    expect(reg.all()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reg.all()).toHaveLength(0);
  });
});
