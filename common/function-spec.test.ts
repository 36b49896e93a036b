import { describe, expect, it } from 'vitest';
import { normalizeSpec, sameSpec } from './function-spec.js';

describe('function spec', () => {
  it('applies the documented defaults', () => {
    expect(normalizeSpec({ code: 'export default () => 1' })).toEqual({
      code: 'export default () => 1',
      handler: 'default',
      runtime: 'nodejs',
      timeoutMs: 30000,
      memoryMb: 128,
      maxRetries: 2,
      concurrency: 0,
      maxQueueMs: 3600000,
      env: {},
      description: '',
    });
  });

  it.each([
    [{ code: 'x', timeoutMs: 99 }, 'timeoutMs'],
    [{ code: 'x', memoryMb: 5000 }, 'memoryMb'],
    [{ code: 'x', maxRetries: 11 }, 'maxRetries'],
    [{ code: 'x', concurrency: -1 }, 'concurrency'],
    [{ code: 'x', maxQueueMs: 999 }, 'maxQueueMs'],
    [{ code: 'x', handler: '1abc' }, 'handler'],
    [{ code: 'x', runtime: 'python' }, 'runtime'],
    [{ code: 'x', env: { lower: 'v' } }, 'env.lower'],
    [{ code: 'x', env: { A: 1 } }, 'env.A'],
    [{ code: 'x', description: 'd'.repeat(257) }, 'description'],
    [{ code: 'x', surprise: true }, 'surprise'],
    [{}, 'code'],
  ])('rejects %j naming %s', (spec, field) => {
    expect(() => normalizeSpec(spec)).toThrowError(expect.objectContaining({ code: 'VALIDATION_ERROR', details: expect.objectContaining({ field }) }));
  });

  it('rejects env over 4 KiB', () => {
    expect(() => normalizeSpec({ code: 'x', env: { A: 'v'.repeat(5000) } })).toThrowError(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
  });

  it('rejects code over 5 MiB with PAYLOAD_TOO_LARGE', () => {
    expect(() => normalizeSpec({ code: 'x'.repeat(5 * 1024 * 1024 + 1) })).toThrowError(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
  });

  it('compares specs field by field, env order-insensitively', () => {
    const a = normalizeSpec({ code: 'x', env: { A: '1', B: '2' } });
    const b = normalizeSpec({ code: 'x', env: { B: '2', A: '1' } });
    expect(sameSpec(a, b)).toBe(true);
    expect(sameSpec(a, normalizeSpec({ code: 'x', env: { A: '1', B: '2' }, timeoutMs: 1000 }))).toBe(false);
  });
});
