/**
 * The dashboard's files at `/` (web.ts): served from a real built dir (a temp one written here),
 * with the CSP and cache headers, the page for client routes, and no API answer changed.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { createFakeControlClient } from './testing/fake-control-client.js';
import { NOT_BUILT_MESSAGE, WEB_CSP, defaultWebDir, isClientRoute, loadWebFiles } from './web.js';

const PAGE = '<!doctype html><title>TaskForge</title><script type="module" src="/assets/index-abc123.js"></script>';
let dir: string;
let app: FastifyInstance | undefined;

async function writeBuild(into: string): Promise<void> {
  await mkdir(join(into, 'assets'), { recursive: true });
  await writeFile(join(into, 'index.html'), PAGE);
  await writeFile(join(into, 'assets', 'index-abc123.js'), 'console.log(1)');
  await writeFile(join(into, 'assets', 'index-abc123.css'), 'body{}');
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskforge-web-'));
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await rm(dir, { recursive: true, force: true });
});

const open = (opts: Parameters<typeof buildApp>[0]['web'] = { dir }, auth: 'off' | null = 'off'): FastifyInstance =>
  (app = buildApp({ control: createFakeControlClient(), web: opts, ...(auth && { auth }) }));
const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe('the built dashboard', () => {
  beforeEach(() => writeBuild(dir));

  it('serves the page at / with a strict CSP and no caching of the page itself', async () => {
    const res = await open().inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toBe(PAGE);
    expect(res.headers['content-security-policy']).toBe(WEB_CSP);
    expect(WEB_CSP).toContain("default-src 'self'");
    expect(WEB_CSP).not.toContain('unsafe-inline');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect((await app!.inject({ method: 'HEAD', url: '/' })).statusCode).toBe(200);
  });

  it('serves built assets with their type, cached for good (their names change with their content)', async () => {
    const js = await open().inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe('console.log(1)');
    const css = await app!.inject({ method: 'GET', url: '/assets/index-abc123.css?v=1' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers a browser asking for a client route with the page', async () => {
    for (const url of ['/functions', '/functions/hello', '/executions/ex_1', '/workers?x=1']) {
      const res = await open().inject({ method: 'GET', url, headers: HTML });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe(PAGE);
      await app!.close();
    }
  });

  it('leaves API answers as they were: unknown API paths, other methods, missing assets, non-browser clients', async () => {
    open();
    const noRoute = { error: { code: 'NOT_FOUND', message: expect.any(String), details: { reason: 'no_route', method: 'GET' } } };
    for (const [url, headers] of [
      ['/v1/nope', HTML],
      ['/v1', HTML],
      ['/2015-03-31/nope', HTML],
      ['/docs-nope.js', HTML],
      ['/assets/missing.js', HTML],
      ['/functions/hello', {}],
      ['/functions/hello', { accept: 'application/json' }],
    ] as const) {
      const res = await app!.inject({ method: 'GET', url, headers });
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toEqual(noRoute);
    }
    const post = await app!.inject({ method: 'POST', url: '/', headers: HTML });
    expect(post.statusCode).toBe(404);
    expect(post.json().error.details).toEqual({ reason: 'no_route', method: 'POST' });
    expect((await app!.inject({ method: 'GET', url: '/healthz', headers: HTML })).json()).toEqual({ status: 'ok' });
    const fns = await app!.inject({ method: 'GET', url: '/v1/functions', headers: HTML });
    expect(fns.statusCode).toBe(200);
    expect(fns.headers['content-security-policy']).toBeUndefined();
    const methodNotAllowed = await app!.inject({ method: 'DELETE', url: '/v1/functions' });
    expect(methodNotAllowed.statusCode).toBe(405);
  });

  it('is open with keys on, while the API behind it still needs a key', async () => {
    open({ dir }, null);
    expect((await app!.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    expect((await app!.inject({ method: 'GET', url: '/functions', headers: HTML })).statusCode).toBe(200);
    const api = await app!.inject({ method: 'GET', url: '/v1/functions', headers: HTML });
    expect(api.statusCode).toBe(401);
    expect(api.json().error.code).toBe('UNAUTHORIZED');
    expect((await app!.inject({ method: 'GET', url: '/elsewhere' })).statusCode).toBe(401);
  });

  it('is off with web: false', async () => {
    const res = await open(false).inject({ method: 'GET', url: '/', headers: HTML });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});

describe('without a build', () => {
  it('says at / how to build it, and leaves other paths to the API', async () => {
    open({ dir: join(dir, 'absent') });
    const res = await app!.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toBe(NOT_BUILT_MESSAGE);
    const route = await app!.inject({ method: 'GET', url: '/functions', headers: HTML });
    expect(route.json().error.code).toBe('NOT_FOUND');
  });

  it('treats a dir without index.html as not built, and serves a build that appears later', async () => {
    await mkdir(join(dir, 'assets'), { recursive: true });
    expect(loadWebFiles(dir)).toBeNull();
    open();
    expect((await app!.inject({ method: 'GET', url: '/' })).body).toBe(NOT_BUILT_MESSAGE);
    await writeBuild(dir);
    expect((await app!.inject({ method: 'GET', url: '/' })).body).toBe(PAGE);
  });
});

describe('a rebuild while the gateway runs', () => {
  it('serves the new page and its new assets, and says so when the build is removed', async () => {
    await writeBuild(dir);
    open();
    expect((await app!.inject({ method: 'GET', url: '/assets/index-abc123.js' })).statusCode).toBe(200);
    const NEXT = '<!doctype html><title>TaskForge, rebuilt</title><script type="module" src="/assets/index-def456.js"></script>';
    await writeFile(join(dir, 'assets', 'index-def456.js'), 'console.log(2)');
    await writeFile(join(dir, 'index.html'), NEXT);
    expect((await app!.inject({ method: 'GET', url: '/' })).body).toBe(NEXT);
    expect((await app!.inject({ method: 'GET', url: '/assets/index-def456.js' })).body).toBe('console.log(2)');
    await rm(join(dir, 'index.html'));
    expect((await app!.inject({ method: 'GET', url: '/' })).body).toBe(NOT_BUILT_MESSAGE);
  });
});

describe('isClientRoute', () => {
  it('is a page route only for a browser, off the API prefixes, without a file extension', () => {
    expect(isClientRoute('/functions/a', 'text/html')).toBe(true);
    expect(isClientRoute('/functions/a', 'TEXT/HTML')).toBe(true);
    expect(isClientRoute('/functions/a', undefined)).toBe(false);
    expect(isClientRoute('/functions/a', '*/*')).toBe(false);
    expect(isClientRoute('/v1/functions', 'text/html')).toBe(false);
    expect(isClientRoute('/metrics', 'text/html')).toBe(false);
    expect(isClientRoute('/docs/x', 'text/html')).toBe(false);
    expect(isClientRoute('/favicon.ico', 'text/html')).toBe(false);
    expect(isClientRoute('/v1x', 'text/html')).toBe(true);
  });

  it('finds dist/web beside the gateway, from source or from dist/', () => {
    expect(defaultWebDir().endsWith(`${sep}dist${sep}web`)).toBe(true);
  });
});
