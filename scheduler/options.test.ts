import { describe, expect, it } from 'vitest';
import { OptionsError } from '../common/options-error.js';
import { resolveSchedulerOptions, SCHEDULER_DEFAULTS } from './options.js';

describe('scheduler options', () => {
  it('fills the defaults into a frozen object', () => {
    const o = resolveSchedulerOptions({ port: 0 });
    expect(o).toMatchObject({ ...SCHEDULER_DEFAULTS, port: 0 });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it.each([
    [{ maxQueue: -1 }, 'maxQueue', /scheduler option maxQueue must be a non-negative number, got -1/],
    [{ retentionMs: Number.NaN }, 'retentionMs', /retentionMs must be a non-negative number/],
    [{ port: 70_000 }, 'port', /port must be ≤ 65535, got 70000/],
    [{ heartbeatIntervalMs: 5 }, 'heartbeatIntervalMs', /heartbeatIntervalMs must be ≥ 10/],
    [{ missedHeartbeats: 0 }, 'missedHeartbeats', /missedHeartbeats must be ≥ 1/],
    [{ deliveryAttempts: 0 }, 'deliveryAttempts', /deliveryAttempts must be ≥ 1/],
    [{ webhookTimeoutMs: 0 }, 'webhookTimeoutMs', /webhookTimeoutMs must be ≥ 1/],
    [{ deliveryPerHostConcurrency: 0 }, 'deliveryPerHostConcurrency', /deliveryPerHostConcurrency must be ≥ 1/],
    [{ allowPrivateWebhooks: 'yes' as unknown as boolean }, 'allowPrivateWebhooks', /allowPrivateWebhooks must be a boolean/],
    [{ storeUrl: 'redis://h/0' }, 'storeUrl', /scheduler option storeUrl has an unknown scheme 'redis:'/],
    [{ storeUrl: 7 as unknown as string }, 'storeUrl', /storeUrl must be a string/],
  ])('rejects %o as an OptionsError naming the option', (input, option, message) => {
    expect(() => resolveSchedulerOptions(input)).toThrow(OptionsError);
    expect(() => resolveSchedulerOptions(input)).toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option }));
    expect(() => resolveSchedulerOptions(input)).toThrow(message);
  });
});
