import { describe, expect, it, vi } from 'vitest';
import type { PoolCommand, PoolState } from '../../proto/gen/taskforge/v1/pool.js';
import { PoolRegistry } from './pool-registry.js';

const STATE: PoolState = { current: 2, target: 2, min: 1, max: 4, autoscale: false, workerCapacity: 4 };

function connection() {
  const sent: PoolCommand[] = [];
  return { sent, send: (c: PoolCommand) => sent.push(c), end: vi.fn() };
}

const scaleId = (c: PoolCommand | undefined): number => (c?.msg?.$case === 'scale' ? c.msg.value.requestId : -1);

describe('PoolRegistry', () => {
  it('relays a scale request to the only pool and resolves with the state it answers', async () => {
    const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
    const c = connection();
    const e = r.attach('p1', 'h', STATE, c)!;
    const pending = r.scale('', 3);
    expect(c.sent[0]).toEqual({ msg: { $case: 'scale', value: { requestId: scaleId(c.sent[0]), workers: 3 } } });
    r.answered(e, { requestId: scaleId(c.sent[0]), state: { ...STATE, target: 3 }, errorCode: '', errorMessage: '' });
    await expect(pending).resolves.toMatchObject({ name: 'p1', host: 'h', target: 3, current: 2, min: 1, max: 4 });
    expect(r.list().map((p) => p.target)).toEqual([3]);
  });

  it('no pool connected: POOL_NOT_CONNECTED (409)', () => {
    const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
    expect(() => r.scale('', 1)).toThrow(expect.objectContaining({ code: 'POOL_NOT_CONNECTED', statusCode: 409 }));
  });

  it('a named pool that is not connected: POOL_NOT_FOUND (404)', () => {
    const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
    r.attach('p1', 'h', STATE, connection());
    expect(() => r.scale('p2', 1)).toThrow(
      expect.objectContaining({ code: 'POOL_NOT_FOUND', statusCode: 404, details: expect.objectContaining({ pool: 'p2' }) }),
    );
  });

  it('several pools and none named: VALIDATION_ERROR on body.pool listing them', () => {
    const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
    r.attach('p2', 'h', STATE, connection());
    r.attach('p1', 'h', STATE, connection());
    expect(() => r.scale('', 1)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR', details: expect.objectContaining({ field: 'body.pool', pools: ['p1', 'p2'] }) }),
    );
  });

  it.each([0, 5])('a count outside the pool min/max (%i) is VALIDATION_ERROR out_of_bounds, and nothing is sent', (n) => {
    const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
    const c = connection();
    r.attach('p1', 'h', STATE, c);
    expect(() => r.scale('p1', n)).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_ERROR',
        details: expect.objectContaining({ field: 'body.workers', reason: 'out_of_bounds', min: 1, max: 4 }),
      }),
    );
    expect(c.sent).toHaveLength(0);
  });

  it('an autoscaled pool refuses manual scaling: POOL_AUTOSCALED (409)', () => {
    const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
    r.attach('p1', 'h', { ...STATE, autoscale: true }, connection());
    expect(() => r.scale('p1', 2)).toThrow(expect.objectContaining({ code: 'POOL_AUTOSCALED', statusCode: 409 }));
  });

  it('a refusal from the pool itself reaches the caller with its code', async () => {
    const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
    const c = connection();
    const e = r.attach('p1', 'h', STATE, c)!;
    const pending = r.scale('p1', 2);
    r.answered(e, { requestId: scaleId(c.sent[0]), state: STATE, errorCode: 'VALIDATION_ERROR', errorMessage: 'no' });
    await expect(pending).rejects.toMatchObject({ code: 'VALIDATION_ERROR', message: 'no' });
  });

  it('a pool that does not answer in time: POOL_NOT_CONNECTED timeout; a late answer is ignored', async () => {
    vi.useFakeTimers();
    try {
      const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
      const c = connection();
      const e = r.attach('p1', 'h', STATE, c)!;
      const pending = r.scale('p1', 3);
      const settled = expect(pending).rejects.toMatchObject({ code: 'POOL_NOT_CONNECTED', details: { reason: 'timeout' } });
      await vi.advanceTimersByTimeAsync(1_000);
      await settled;
      expect(() => r.answered(e, { requestId: scaleId(c.sent[0]), state: STATE, errorCode: '', errorMessage: '' })).not.toThrow();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a pool that disconnects fails its waiting requests and is no longer listed', async () => {
    const r = new PoolRegistry({ scaleTimeoutMs: 10_000 });
    const e = r.attach('p1', 'h', STATE, connection())!;
    const pending = r.scale('p1', 3);
    r.detach(e);
    await expect(pending).rejects.toMatchObject({ code: 'POOL_NOT_CONNECTED', details: { reason: 'disconnected' } });
    expect(r.list()).toEqual([]);
  });

  it('a second pool of a live name is refused, not a takeover; close() ends every stream', () => {
    const r = new PoolRegistry({ scaleTimeoutMs: 1_000 });
    const c = connection();
    r.attach('p1', 'h', STATE, c);
    expect(r.attach('p1', 'other', STATE, connection())).toBeNull();
    expect(r.list()[0]!.host).toBe('h');
    r.close();
    expect(c.end).toHaveBeenCalledOnce();
  });
});
