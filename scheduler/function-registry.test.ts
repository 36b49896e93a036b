import { describe, expect, it } from 'vitest';
import { checkCode } from '../common/code-check.js';
import { FunctionRegistry } from './function-registry.js';
import { MemoryStore } from './testing/memory-store.js';

describe('FunctionRegistry', () => {
  it("keeps the code check's module format with the stored version, for workers, and not in what the API shows", async () => {
    const store = new MemoryStore();
    const registry = new FunctionRegistry(store, checkCode);
    const esm = await registry.put('a', { code: 'export default async () => 1;' }, false);
    const cjs = await registry.put('b', { code: 'module.exports = async () => 2;' }, false);
    expect(esm.version.format).toBe('esm');
    expect(cjs.version.format).toBe('cjs');
    expect(store.functions.get('b')!.versions[0]!.format).toBe('cjs');
    expect(registry.latest('a').format).toBe('esm');
    expect(registry.versions('a')[0]).not.toHaveProperty('format');
    expect(registry.versions('a')[0]).not.toHaveProperty('code');
  });

  it('stores no format when the checker says none (versions from before it was kept stay without)', async () => {
    const registry = new FunctionRegistry(new MemoryStore(), () => undefined);
    expect((await registry.put('c', { code: 'export default () => 1;' }, false)).version).not.toHaveProperty('format');
  });

  it('destinations: kept in the version, a change is a new version, the webhook secret made once and kept', async () => {
    const registry = new FunctionRegistry(new MemoryStore(), checkCode);
    const code = 'export default async () => 1;';
    const v1 = (await registry.put('d', { code, onFailure: { function: 'alert' } }, false)).version;
    expect(v1).toMatchObject({ onFailure: { function: 'alert' } });
    expect(v1).not.toHaveProperty('webhookSecret');
    expect((await registry.put('d', { code, onFailure: { function: 'alert' } }, false)).created).toBe(false);
    const v2 = (await registry.put('d', { code, onSuccess: { url: 'https://example.com/hook' } }, false)).version;
    expect(v2.version).toBe(2);
    expect(v2).not.toHaveProperty('onFailure');
    expect(v2.webhookSecret).toMatch(/^whsec_[0-9a-f]{48}$/);
    const v3 = (await registry.put('d', { code }, false)).version;
    expect(v3.webhookSecret).toBe(v2.webhookSecret);
    expect(registry.versions('d')[0]!.webhookSecret).toBe(v2.webhookSecret);
  });

  it('destinations: a private url is refused unless private webhooks are allowed; a function naming itself is refused', async () => {
    const registry = new FunctionRegistry(new MemoryStore(), checkCode);
    const code = 'export default async () => 1;';
    await expect(registry.put('p', { code, onSuccess: { url: 'http://127.0.0.1:9000/' } }, false)).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'onSuccess.url', reason: 'private_address' },
    });
    await expect(registry.put('p', { code, onFailure: { function: 'p' } }, false)).rejects.toMatchObject({
      details: { field: 'onFailure.function', reason: 'self' },
    });
    registry.allowPrivateWebhooks = true;
    expect((await registry.put('p', { code, onSuccess: { url: 'http://127.0.0.1:9000/' } }, false)).version.onSuccess).toEqual({
      url: 'http://127.0.0.1:9000/',
    });
  });
});
