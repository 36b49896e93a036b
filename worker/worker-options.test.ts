import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { OptionsError } from '../common/options-error.js';
import { resolveWorkerOptions, WORKER_DEFAULTS } from './worker-options.js';

describe('resolveWorkerOptions', () => {
  it('fills the defaults and freezes the result', () => {
    const o = resolveWorkerOptions();
    expect(o.schedulerAddress).toBe(WORKER_DEFAULTS.schedulerAddress);
    expect(o.capacity).toBe(4);
    expect(o.heartbeatIntervalMs).toBe(1000);
    expect(o.drainGraceMs).toBe(30_000);
    expect(o.workerId).toMatch(/^w_[A-Za-z0-9_-]+$/);
    expect(o.name).toBe(`${hostname()}-${process.pid}`);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('splits a scheduler list in its order and keeps a single address as it was', () => {
    expect(resolveWorkerOptions({ schedulerAddress: 'a.example:50051, 10.0.0.2:50052,[::1]:7' }).schedulerAddresses).toEqual([
      'a.example:50051',
      '10.0.0.2:50052',
      '[::1]:7',
    ]);
    expect(resolveWorkerOptions().schedulerAddresses).toEqual([WORKER_DEFAULTS.schedulerAddress]);
  });

  it('generates a different id per agent unless one is given', () => {
    expect(resolveWorkerOptions().workerId).not.toBe(resolveWorkerOptions().workerId);
    expect(resolveWorkerOptions({ workerId: 'w_fixed' }).workerId).toBe('w_fixed');
  });

  it.each([
    [{ capacity: 0 }, 'capacity'],
    [{ capacity: 1.5 }, 'capacity'],
    [{ schedulerAddress: 'nohost' }, 'schedulerAddress'],
    [{ schedulerAddress: '127.0.0.1:50051,' }, 'schedulerAddress'],
    [{ schedulerAddress: 'a:1,,b:2' }, 'schedulerAddress'],
    [{ schedulerAddress: 'a:1,b:99999' }, 'schedulerAddress'],
    [{ schedulerAddress: 'a:1,A:1' }, 'schedulerAddress'],
    [{ reconnectBaseMs: 500, reconnectCapMs: 100 }, 'reconnectCapMs'],
    [{ workerId: 'bad id' }, 'workerId'],
  ])('rejects %j naming the option', (opts, option) => {
    try {
      resolveWorkerOptions(opts);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(OptionsError);
      expect(err).toMatchObject({ code: 'ERR_TASKFORGE_OPTION', option });
      expect((err as OptionsError).message).toContain(option);
    }
  });
});
