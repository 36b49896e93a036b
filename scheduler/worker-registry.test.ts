import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Hello } from '../proto/gen/taskforge/v1/worker.js';
import { WorkerRegistry, type LossReason, type RegisteredWorker } from './worker-registry.js';

const hello = (id: string): Hello => ({ workerId: id, name: id, capacity: 2, runtimes: ['nodejs'], held: [], agentVersion: 't' });
const conn = () => ({ send: vi.fn(), end: vi.fn() });
const hb = { inFlight: 0, capacity: 2, warm: ['f@1'], rssBytes: 1, seq: 1, draining: false };

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
    const { worker } = reg.register(hello('w_a'), conn());
    await vi.advanceTimersByTimeAsync(2999);
    expect(worker.status).toBe('ready');
    await vi.advanceTimersByTimeAsync(1);
    expect(worker.status).toBe('lost');
    expect(lost).toEqual([['w_a', 'heartbeat_missed']]);
  });

  it('every heartbeat pushes the loss bound out again', async () => {
    const { worker } = reg.register(hello('w_a'), conn());
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
    const { worker } = reg.register(hello('w_a'), c);
    reg.streamClosed(worker);
    reg.streamClosed(worker);
    expect(lost).toEqual([['w_a', 'stream_closed']]);
    expect(c.end).toHaveBeenCalled();
  });

  it('a reconnect with the same id replaces the old stream: one worker, one stream', () => {
    const c1 = conn();
    const { worker: first } = reg.register(hello('w_a'), c1);
    const { worker: second, previous } = reg.register(hello('w_a'), conn());
    expect(previous).toBe(first);
    expect(first.status).toBe('lost');
    expect(c1.end).toHaveBeenCalled();
    expect(lost).toEqual([['w_a', 'replaced']]);
    expect(reg.live()).toEqual([second]);
    // the old stream closing later does not touch the new entry
    reg.streamClosed(first);
    expect(second.status).toBe('ready');
  });

  it('a draining heartbeat makes the worker ineligible for placement', () => {
    const { worker } = reg.register(hello('w_a'), conn());
    reg.heartbeat(worker, { ...hb, draining: true });
    expect(worker.status).toBe('draining');
    expect(worker.ready).toBe(false);
  });

  it('forgets a lost worker after forgetLostAfterMs', async () => {
    const { worker } = reg.register(hello('w_a'), conn());
    reg.streamClosed(worker);
    expect(reg.all()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reg.all()).toHaveLength(0);
  });
});
