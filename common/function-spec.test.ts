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

  it('fills a circuit breaker’s left-out settings, keeps none when absent or null, and leaves cacheTtlMs out when 0', () => {
    expect(normalizeSpec({ code: 'x', circuitBreaker: { failureThreshold: 2 } }).circuitBreaker).toEqual({
      failureThreshold: 2,
      windowMs: 60_000,
      cooldownMs: 30_000,
    });
    expect(normalizeSpec({ code: 'x', circuitBreaker: null })).not.toHaveProperty('circuitBreaker');
    expect(normalizeSpec({ code: 'x', cacheTtlMs: 0 })).not.toHaveProperty('cacheTtlMs');
    expect(normalizeSpec({ code: 'x', cacheTtlMs: 5000 }).cacheTtlMs).toBe(5000);
  });

  it.each([
    [{ code: 'x', circuitBreaker: [] }, 'circuitBreaker'],
    [{ code: 'x', circuitBreaker: { failureThreshold: 0 } }, 'circuitBreaker.failureThreshold'],
    [{ code: 'x', circuitBreaker: { cooldownMs: 999 } }, 'circuitBreaker.cooldownMs'],
    [{ code: 'x', circuitBreaker: { other: 1 } }, 'circuitBreaker.other'],
    [{ code: 'x', cacheTtlMs: 1.5 }, 'cacheTtlMs'],
    [{ code: 'x', cacheTtlMs: 86_400_001 }, 'cacheTtlMs'],
  ])('rejects %j naming %s', (spec, field) => {
    expect(() => normalizeSpec(spec)).toThrowError(expect.objectContaining({ code: 'VALIDATION_ERROR', details: expect.objectContaining({ field }) }));
  });

  it('a changed breaker or TTL is a new version; the same ones are not', () => {
    const a = normalizeSpec({ code: 'x', circuitBreaker: {}, cacheTtlMs: 10 });
    expect(sameSpec(a, normalizeSpec({ code: 'x', circuitBreaker: {}, cacheTtlMs: 10 }))).toBe(true);
    expect(sameSpec(a, normalizeSpec({ code: 'x', circuitBreaker: { failureThreshold: 9 }, cacheTtlMs: 10 }))).toBe(false);
    expect(sameSpec(a, normalizeSpec({ code: 'x', circuitBreaker: {} }))).toBe(false);
  });
});
