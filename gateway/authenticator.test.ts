import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OptionsError } from '../common/options-error.js';
import type { Principal } from '../common/api-keys.js';
import { TaskForgeError } from '../common/errors.js';
import { CachingAuthenticator } from './authenticator.js';
import { testKey, testPrincipal } from './testing/fake-control-client.js';

const KEY = testKey('cached');
const P = testPrincipal('cached000000', ['read']);

describe('CachingAuthenticator', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reuses an answer for less than 1 s: a key deleted at the scheduler is refused from 1 s on', async () => {
    let current: Principal | null = P;
    const lookup = vi.fn(async () => current);
    const auth = new CachingAuthenticator(lookup);
    expect(await auth.authenticate(KEY)).toEqual(P);
    current = null; // deleted at the scheduler
    await vi.advanceTimersByTimeAsync(999);
    expect(await auth.authenticate(KEY)).toEqual(P);
    expect(lookup).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await auth.authenticate(KEY)).toBeNull();
    expect(lookup).toHaveBeenCalledTimes(2);
  });

  it('remembers a "no such key" for 1 s too, per presented key', async () => {
    const lookup = vi.fn(async (key: string) => (key === KEY ? P : null));
    const auth = new CachingAuthenticator(lookup);
    expect(await auth.authenticate(testKey('unknown'))).toBeNull();
    expect(await auth.authenticate(testKey('unknown'))).toBeNull();
    expect(await auth.authenticate(KEY)).toEqual(P);
    expect(lookup).toHaveBeenCalledTimes(2);
  });

  it('concurrent requests with one key share one lookup', async () => {
    let release!: (p: Principal) => void;
    const lookup = vi.fn(() => new Promise<Principal | null>((resolve) => (release = resolve)));
    const auth = new CachingAuthenticator(lookup);
    const answers = Promise.all([auth.authenticate(KEY), auth.authenticate(KEY), auth.authenticate(KEY)]);
    release(P);
    expect(await answers).toEqual([P, P, P]);
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('a failed lookup (scheduler unreachable) is not remembered', async () => {
    const lookup = vi
      .fn<(key: string) => Promise<Principal | null>>()
      .mockRejectedValueOnce(new TaskForgeError('SCHEDULER_UNAVAILABLE', 'down'))
      .mockResolvedValueOnce(P);
    const auth = new CachingAuthenticator(lookup);
    await expect(auth.authenticate(KEY)).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE' });
    expect(await auth.authenticate(KEY)).toEqual(P);
  });

  it('forget(id) drops the answers for that key id at once', async () => {
    let current: Principal | null = P;
    const auth = new CachingAuthenticator(async () => current);
    await auth.authenticate(KEY);
    current = null;
    auth.forget(P.id);
    expect(await auth.authenticate(KEY)).toBeNull();
  });

  it('is bounded: a flood of made-up keys evicts the oldest answers', async () => {
    const auth = new CachingAuthenticator(async () => null, { maxEntries: 3 });
    for (let i = 0; i < 10; i++) await auth.authenticate(testKey(`k${i}`));
    expect(auth.size).toBe(3);
  });

  it('refuses a cache longer than the contract allows', () => {
    expect(() => new CachingAuthenticator(async () => null, { ttlMs: 1001 })).toThrow(/ttlMs/);
    expect(() => new CachingAuthenticator(async () => null, { ttlMs: 1001 })).toThrow(OptionsError);
    expect(() => new CachingAuthenticator(async () => null, { maxEntries: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'maxEntries' }),
    );
  });
});
