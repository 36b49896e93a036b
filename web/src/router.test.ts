import { describe, expect, it } from 'vitest';
import { NO_CAPABILITIES, type Capabilities } from './capabilities.js';
import { homePath, matchPattern, navFor, pathTo, resolve, type RouteSpec } from './router.js';

const ROUTES: RouteSpec<string>[] = [
  { pattern: '/functions', title: 'Functions', nav: 'Functions', allowed: (c) => c.readFunctions, page: 'list' },
  { pattern: '/deploy', title: 'Deploy', nav: 'Deploy', allowed: (c) => c.deploy, page: 'deploy' },
  { pattern: '/functions/:name', title: 'Function', allowed: (c) => c.readFunctions, page: 'detail' },
  { pattern: '/workers', title: 'Workers', nav: 'Workers', allowed: (c) => c.cluster, page: 'workers' },
];
const reader: Capabilities = { ...NO_CAPABILITIES, readFunctions: true, readExecutions: true };

describe('matchPattern', () => {
  it('matches segment by segment, decoding params', () => {
    expect(matchPattern('/functions/:name', '/functions/hello')).toEqual({ name: 'hello' });
    expect(matchPattern('/functions/:name', '/functions/a%20b/')).toEqual({ name: 'a b' });
    expect(matchPattern('/functions', '/functions')).toEqual({});
    expect(matchPattern('/functions/:name', '/functions')).toBeNull();
    expect(matchPattern('/functions/:name', '/executions/x')).toBeNull();
    expect(matchPattern('/functions/:name', '/functions/%E0%A4%A')).toBeNull();
  });
});

describe('resolve, navFor, homePath', () => {
  it('finds the page, or says the key may not see it, or that there is none', () => {
    expect(resolve(ROUTES, '/functions/x', reader)).toMatchObject({ kind: 'page', params: { name: 'x' }, route: { page: 'detail' } });
    expect(resolve(ROUTES, '/deploy', reader)).toMatchObject({ kind: 'forbidden', route: { page: 'deploy' } });
    expect(resolve(ROUTES, '/nope', reader)).toEqual({ kind: 'not_found' });
  });

  it('lists in the navigation only the labelled pages the key may see', () => {
    expect(navFor(ROUTES, reader).map((r) => r.nav)).toEqual(['Functions']);
    expect(navFor(ROUTES, { ...reader, deploy: true, cluster: true }).map((r) => r.nav)).toEqual(['Functions', 'Deploy', 'Workers']);
  });

  it('lands on the first page the key may see, or nowhere', () => {
    expect(homePath(ROUTES, { ...NO_CAPABILITIES, cluster: true })).toBe('/workers');
    expect(homePath(ROUTES, NO_CAPABILITIES)).toBeNull();
  });

  it('fills a pattern with encoded params', () => {
    expect(pathTo('/functions/:name', { name: 'a/b' })).toBe('/functions/a%2Fb');
  });
});
