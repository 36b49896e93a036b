import { describe, expect, it } from 'vitest';
import { KEY_SCOPES, type KeyScope } from '../common/api-keys.js';
import { ACCESS, allows, maySeeEnv, mayUseFunction, mayUseFunctions, type Access } from './access.js';
import { testPrincipal } from './testing/fake-control-client.js';

/** The whole matrix of docs/API.md "Scopes", one row per scope. */
const EXPECTED: Record<KeyScope, Access[]> = {
  admin: [
    'functions:write',
    'functions:read',
    'invoke',
    'topics:publish',
    'executions:read',
    'executions:cancel',
    'cluster:read',
    'cluster:scale',
    'keys',
    'workflows:write',
    'workflows:read',
    'workflows:run',
  ],
  deploy: ['functions:write', 'functions:read', 'executions:read', 'cluster:read', 'workflows:write', 'workflows:read'],
  invoke: ['functions:read', 'invoke', 'topics:publish', 'executions:read', 'executions:cancel', 'workflows:run', 'workflows:read'],
  read: ['functions:read', 'executions:read', 'cluster:read', 'workflows:read'],
};

describe('access', () => {
  it.each(KEY_SCOPES)('scope %s grants exactly its row of the table', (scope) => {
    const p = testPrincipal('k', [scope]);
    const granted = ACCESS.filter((a) => a !== 'open' && allows(p, a));
    expect(granted.sort()).toEqual([...EXPECTED[scope]].sort());
  });

  it('several scopes grant their union', () => {
    const p = testPrincipal('k', ['read', 'invoke']);
    expect(allows(p, 'invoke') && allows(p, 'cluster:read')).toBe(true);
    expect(allows(p, 'functions:write')).toBe(false);
  });

  it('open needs nothing; a route that declares nothing is for unrestricted admins only', () => {
    expect(allows(testPrincipal('k', ['read']), 'open')).toBe(true);
    expect(allows(testPrincipal('k', ['admin']), undefined)).toBe(true);
    for (const scope of ['deploy', 'invoke', 'read'] as const) expect(allows(testPrincipal('k', [scope]), undefined)).toBe(false);
    expect(allows(testPrincipal('k', ['admin'], ['a']), undefined)).toBe(false);
  });

  it('a function-limited key never gets what is about every function, even as admin', () => {
    const limited = testPrincipal('k', ['admin'], ['a']);
    expect(allows(limited, 'keys')).toBe(false);
    expect(allows(limited, 'cluster:read')).toBe(false);
    // A publish starts whichever functions subscribe: no limit to functions can bound it.
    expect(allows(limited, 'topics:publish')).toBe(false);
    expect(allows(testPrincipal('k', ['invoke'], ['a']), 'topics:publish')).toBe(false);
    expect(allows(limited, 'invoke')).toBe(true);
    expect(mayUseFunction(limited, 'a')).toBe(true);
    expect(mayUseFunction(limited, 'b')).toBe(false);
    expect(mayUseFunction(testPrincipal('k', ['read']), 'b')).toBe(true);
  });

  it('a function-limited key may touch a workflow only when every step calls one of its functions', () => {
    const limited = testPrincipal('k', ['invoke'], ['a', 'b']);
    expect(mayUseFunctions(limited, ['a', 'b', 'a'])).toBe(true);
    expect(mayUseFunctions(limited, ['a', 'c'])).toBe(false);
    expect(mayUseFunctions(testPrincipal('k', ['invoke']), ['c'])).toBe(true);
  });

  it('env values are for admin and deploy keys', () => {
    expect(KEY_SCOPES.filter((s) => maySeeEnv(testPrincipal('k', [s])))).toEqual(['admin', 'deploy']);
  });
});
