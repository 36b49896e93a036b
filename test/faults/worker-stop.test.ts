/**
 * Fault: a worker is frozen (SIGSTOP) past its loss bound of 3 heartbeat intervals while its
 * sandbox keeps running, then thawed (SIGCONT) after the execution has been re-run elsewhere
 * (PROTOCOL.md "Attempt lease", "Reconnect"). The frozen worker's late result carries an old
 * lease: it is dropped or killed on reconnect, and the finished record never changes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Heartbeat } from '../../proto/gen/taskforge/v1/worker.js';
import type { LossReason, RegisteredWorker } from '../../scheduler/worker-registry.js';
import { eventWithin, fn, startStack, type Stack } from '../helpers/stack.js';
import { memoryLog } from '../helpers/memory-log.js';

const SLOW =
  'export default async (e, ctx) => { console.log("started attempt " + ctx.attempt); await new Promise((r) => setTimeout(r, e.ms)); return { attempt: ctx.attempt } }';

let stack: Stack | undefined;
afterEach(async () => {
  for (const w of stack?.workers ?? []) w.proc.kill('SIGCONT');
  await stack?.close();
  stack = undefined;
});

describe('a worker frozen past its loss bound', () => {
  it('is lost; its late result is ignored and the final record is unchanged', async () => {
    const log = memoryLog();
    stack = await startStack({ workers: 2, capacity: 1, scheduler: { logger: log.logger } });
    const s = stack;
    const registry = s.scheduler.internals.registry;
    // Heartbeats are not events of the registry; observe them without changing what they do.
    const heartbeat = registry.heartbeat.bind(registry);
    registry.heartbeat = (w: RegisteredWorker, hb: Heartbeat): void => {
      heartbeat(w, hb);
      registry.events.emit('heartbeat', w, hb);
    };
    await s.request('PUT', '/v1/functions/slow', fn(SLOW));

    const r = await s.request('POST', '/v1/functions/slow/invoke', { ms: 1500 });
    expect(r.status).toBe(202);
    const id: string = r.body.executionId;
    // The handler is running in the sandbox once its first log line has reached the scheduler.
    const deadline = Date.now() + 10_000;
    while (!(await s.request('GET', `/v1/executions/${id}/logs`)).body.lines.some((l: { message: string }) => l.message === 'started attempt 1')) {
      if (Date.now() > deadline) throw new Error('attempt 1 never started');
      await new Promise((res) => setTimeout(res, 20));
    }
    const first = s.scheduler.internals.state.index.get(id)!.workerId!;
    const frozen = s.workers.find((w) => w.id === first)!;
    const other = s.workers.find((w) => w.id !== first)!;

    const lost = eventWithin<[RegisteredWorker, LossReason]>(registry.events, 'lost', 5_000);
    const frozenAt = Date.now();
    frozen.proc.kill('SIGSTOP');
    const [lostWorker, reason] = await lost;
    expect(lostWorker.id).toBe(frozen.id);
    expect(reason).toBe('heartbeat_missed');
    // 3 missed intervals of 200 ms, counted from the last heartbeat before the freeze.
    expect(Date.now() - frozenAt).toBeLessThan(3 * 200 + 1_500);

    const done = (await s.request('GET', `/v1/executions/${id}?waitMs=15000`)).body;
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, workerId: other.id, output: { attempt: 2 } });
    expect(done.attempts).toEqual([
      expect.objectContaining({ attempt: 1, workerId: frozen.id, errorCode: 'WORKER_LOST' }),
      expect.objectContaining({ attempt: 2, workerId: other.id, errorCode: null }),
    ]);
    // Attempt 1's sandbox was never frozen and ran 1500 ms from before the freeze; attempt 2
    // started after the loss and also ran 1500 ms: attempt 1's result is waiting on the frozen worker.

    const back = new Promise<RegisteredWorker>((resolve) => {
      const onReg = (w: RegisteredWorker): void => {
        if (w.id !== frozen.id) return;
        registry.events.off('registered', onReg);
        resolve(w);
      };
      registry.events.on('registered', onReg);
    });
    frozen.proc.kill('SIGCONT');
    const rejoined = await Promise.race([back, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('frozen worker never reconnected')), 10_000))]);
    // Results that waited for a stream go out right after Welcome and before the first heartbeat:
    // once a heartbeat says nothing is in flight, every late message has been handled.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no idle heartbeat from the rejoined worker')), 10_000);
      const onHb = (w: RegisteredWorker, hb: Heartbeat): void => {
        if (w !== rejoined || hb.inFlight !== 0) return;
        clearTimeout(timer);
        registry.events.off('heartbeat', onHb);
        resolve();
      };
      registry.events.on('heartbeat', onHb);
    });

    const after = (await s.request('GET', `/v1/executions/${id}`)).body;
    expect(after).toEqual(done);
    expect(rejoined.assigned.size).toBe(0);
    // On reconnect nothing it re-announced was adopted: its late attempt was killed (or, had it
    // left on the dead stream before the worker noticed, dropped with that stream).
    const connected = log.find((l) => l.msg === 'worker connected' && l.workerId === frozen.id);
    expect(connected).toHaveLength(2);
    expect(connected[1]!.kill).toBe(connected[1]!.held);
    expect(log.find((l) => l.msg === 'adopted' && l.executionId === id)).toEqual([]);
    const stats = await s.request('GET', '/v1/stats');
    expect(stats.body.executions).toMatchObject({ succeeded: 1, running: 0, queued: 0 });
  });
});
