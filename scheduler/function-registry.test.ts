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
});
