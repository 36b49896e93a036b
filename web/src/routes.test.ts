import { describe, expect, it } from 'vitest';
import { NO_CAPABILITIES, type Capabilities } from './capabilities.js';
import { homePath, navFor, resolve } from './router.js';
import { ROUTES } from './routes.js';

const all: Capabilities = { readFunctions: true, deploy: true, invoke: true, retry: true, readExecutions: true, cluster: true, keys: true };

describe('the dashboard route table', () => {
  it('has one entry per path, each with a page', () => {
    expect(new Set(ROUTES.map((r) => r.pattern)).size).toBe(ROUTES.length);
    for (const r of ROUTES) expect(typeof r.page).toBe('function');
  });

  it('navigates to the list pages only, in order, and an admin lands on Functions', () => {
    expect(navFor(ROUTES, all).map((r) => r.nav)).toEqual(['Functions', 'Deploy', 'Executions', 'Dead letters', 'Workers', 'Topics', 'Workflow runs']);
    expect(homePath(ROUTES, all)).toBe('/functions');
  });

  it('routes /deploy to the deploy page, not to a function named deploy, and detail pages by their params', () => {
    expect(resolve(ROUTES, '/deploy', all)).toMatchObject({ kind: 'page', route: { title: 'Deploy a function' } });
    expect(resolve(ROUTES, '/functions/deploy', all)).toMatchObject({ kind: 'page', params: { name: 'deploy' } });
    expect(resolve(ROUTES, '/executions/ex_1', all)).toMatchObject({ kind: 'page', params: { id: 'ex_1' } });
    expect(resolve(ROUTES, '/workflow-runs/wr_1', all)).toMatchObject({ kind: 'page', route: { title: 'Workflow run' }, params: { id: 'wr_1' } });
  });

  it('shows each page only to keys whose scopes allow what it reads', () => {
    const invoker: Capabilities = { ...NO_CAPABILITIES, readFunctions: true, invoke: true, readExecutions: true };
    expect(navFor(ROUTES, invoker).map((r) => r.nav)).toEqual(['Functions', 'Executions', 'Dead letters', 'Topics', 'Workflow runs']);
    expect(resolve(ROUTES, '/workers', invoker).kind).toBe('forbidden');
    expect(resolve(ROUTES, '/deploy', invoker).kind).toBe('forbidden');
    expect(navFor(ROUTES, NO_CAPABILITIES)).toEqual([]);
  });
});
