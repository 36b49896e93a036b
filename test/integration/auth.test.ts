/**
 * API keys end to end, on the real stack (scheduler + gateway in process, a real worker, a temp
 * data dir), and `--no-auth` on the real command.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseApiKey } from '../../common/api-keys.js';
import { startScheduler } from '../../scheduler/server.js';
import { spawnComponent, type ComponentProcess } from '../helpers/processes.js';
import { fn, readAdminKey, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
let proc: ComponentProcess | undefined;
afterEach(async () => {
  await proc?.kill();
  proc = undefined;
  await stack?.close();
  stack = undefined;
});

const ECHO = 'export default async (e) => e';

async function makeKey(s: Stack, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const r = await s.request('POST', '/v1/keys', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

describe('API keys on the real stack', () => {
  it('a function cannot be listed, read or invoked without a key; with the admin key it can', async () => {
    stack = await startStack({ workers: 0 });
    expect((await stack.request('PUT', '/v1/functions/echo', fn(ECHO))).status).toBe(201);
    for (const [method, path] of [
      ['GET', '/v1/functions'],
      ['GET', '/v1/functions/echo'],
      ['POST', '/v1/functions/echo/invoke'],
      ['GET', '/v1/executions'],
    ] as const) {
      const anon = await stack.requestAs(null, method, path);
      expect(anon.status, `${method} ${path}`).toBe(401);
      expect(anon.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String), details: { reason: 'no_valid_key' } } });
      expect(JSON.stringify(anon.body)).not.toContain('echo');
    }
    const listed = await stack.request('GET', '/v1/functions');
    expect(listed.body.functions.map((f: { name: string }) => f.name)).toEqual(['echo']);
    expect((await stack.requestAs(null, 'GET', '/healthz')).status).toBe(200);
    expect((await stack.requestAs(null, 'GET', '/readyz')).status).toBe(200);
  });

  it('keys are created, listed without secrets and deleted; a deleted key is refused at once', async () => {
    stack = await startStack({ workers: 0 });
    const ci = await makeKey(stack, { name: 'ci', scopes: ['read'] });
    expect(parseApiKey(ci.key)?.id).toBe(ci.id);
    expect((await stack.requestAs(ci.key, 'GET', '/v1/functions')).status).toBe(200);
    const list = await stack.request('GET', '/v1/keys');
    expect(list.body.keys.map((k: { name: string }) => k.name)).toEqual(['admin', 'ci']);
    expect(JSON.stringify(list.body)).not.toContain(parseApiKey(ci.key)!.secret);
    expect(JSON.stringify(list.body)).not.toContain(parseApiKey(stack.adminKey)!.secret);
    expect((await stack.request('DELETE', `/v1/keys/${ci.id}`)).status).toBe(204);
    expect((await stack.request('DELETE', `/v1/keys/${ci.id}`)).status).toBe(404);
    const t0 = Date.now();
    expect((await stack.requestAs(ci.key, 'GET', '/v1/functions')).status).toBe(401);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('each scope: allowed and refused; a functions-limited key; env values only for admin and deploy', async () => {
    stack = await startStack({ workers: 1 });
    const s = stack;
    const deploy = await makeKey(s, { name: 'deployer', scopes: ['deploy'] });
    const invoke = await makeKey(s, { name: 'caller', scopes: ['invoke'] });
    const read = await makeKey(s, { name: 'viewer', scopes: ['read'] });
    const one = await makeKey(s, { name: 'one', scopes: ['deploy', 'invoke'], functions: ['echo'] });

    expect((await s.requestAs(deploy.key, 'PUT', '/v1/functions/echo', fn(ECHO, { env: { TOKEN: 'hunter2' } }))).status).toBe(201);
    expect((await s.requestAs(deploy.key, 'PUT', '/v1/functions/other', fn(ECHO, { env: { TOKEN: 'hunter3' } }))).status).toBe(201);
    expect((await s.requestAs(deploy.key, 'POST', '/v1/functions/echo/invoke', { n: 1 })).status).toBe(403);
    expect((await s.requestAs(deploy.key, 'GET', '/v1/keys')).status).toBe(403);

    const run = await s.requestAs(invoke.key, 'POST', '/v1/functions/echo/invoke?mode=sync', { n: 1 });
    expect(run.status).toBe(200);
    expect((await s.requestAs(invoke.key, 'GET', `/v1/executions/${run.body.id}`)).status).toBe(200);
    expect((await s.requestAs(invoke.key, 'PUT', '/v1/functions/echo', fn(ECHO))).status).toBe(403);
    expect((await s.requestAs(invoke.key, 'GET', '/v1/workers')).status).toBe(403);

    expect((await s.requestAs(read.key, 'GET', '/v1/stats')).status).toBe(200);
    expect((await s.requestAs(read.key, 'POST', '/v1/functions/echo/invoke', {})).status).toBe(403);
    expect((await s.requestAs(read.key, 'DELETE', '/v1/functions/echo')).status).toBe(403);

    for (const key of [read.key, invoke.key]) {
      const got = await s.requestAs(key, 'GET', '/v1/functions/echo');
      expect(got.body.env).toEqual({ TOKEN: null });
      for (const path of ['/v1/functions', '/v1/functions/echo/versions', '/v1/functions/echo?include=code']) {
        expect(JSON.stringify((await s.requestAs(key, 'GET', path)).body), path).not.toContain('hunter');
      }
    }
    expect((await s.requestAs(deploy.key, 'GET', '/v1/functions/echo')).body.env).toEqual({ TOKEN: 'hunter2' });

    // Limited to echo: sees only echo and its executions.
    const otherRun = await s.request('POST', '/v1/functions/other/invoke?mode=sync', { n: 2 });
    expect((await s.requestAs(one.key, 'GET', '/v1/functions')).body.functions.map((f: { name: string }) => f.name)).toEqual(['echo']);
    expect((await s.requestAs(one.key, 'GET', '/v1/functions/other')).status).toBe(403);
    expect((await s.requestAs(one.key, 'POST', '/v1/functions/other/invoke', {})).status).toBe(403);
    const hidden = await s.requestAs(one.key, 'GET', `/v1/executions/${otherRun.body.id}`);
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('EXECUTION_NOT_FOUND');
    const listed = await s.requestAs(one.key, 'GET', '/v1/executions');
    expect(listed.body.executions.map((e: { function: string }) => e.function)).toEqual(['echo']);
    expect((await s.request('GET', '/v1/executions')).body.executions).toHaveLength(2);
    expect((await s.requestAs(one.key, 'GET', '/v1/stats')).status).toBe(403);
  });

  it('admin.key (0600) is made once and kept across restarts; keys.json holds no key or secret', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'taskforge-keys-it-'));
    try {
      stack = await startStack({ workers: 0, dataDir });
      const admin = stack.adminKey;
      expect((await stat(join(dataDir, 'admin.key'))).mode & 0o777).toBe(0o600);
      expect((await stat(join(dataDir, 'keys.json'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(dataDir, 'admin.key'), 'utf8')).toBe(`${admin}\n`);
      const ci = await makeKey(stack, { name: 'ci', scopes: ['invoke'] });
      await stack.restartScheduler();
      expect(await readAdminKey(dataDir)).toBe(admin);
      expect((await stack.request('GET', '/v1/keys')).status).toBe(200);
      expect((await stack.requestAs(ci.key, 'GET', '/v1/executions')).status).toBe(200);
      await stack.close();
      stack = await startStack({ workers: 0, dataDir });
      expect(stack.adminKey).toBe(admin);
      const stored = await readFile(join(dataDir, 'keys.json'), 'utf8');
      for (const key of [admin, ci.key]) {
        expect(stored).not.toContain(key);
        expect(stored).not.toContain(parseApiKey(key)!.secret);
      }
    } finally {
      await stack?.close();
      stack = undefined;
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('over the rate limit: 429 RATE_LIMITED with retry-after, per key', async () => {
    stack = await startStack({ workers: 0, rateLimit: 5 });
    const other = await makeKey(stack, { name: 'other', scopes: ['read'] });
    const answers = await Promise.all(Array.from({ length: 12 }, () => stack!.request('GET', '/v1/stats')));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    // The POST /v1/keys above spent one of the admin key's 5 in this window, or the window moved on.
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(5);
    expect(limited[0]!.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String), details: expect.objectContaining({ limit: 5 }) } });
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await stack.requestAs(other.key, 'GET', '/v1/stats')).status).toBe(200);
  });
});

describe('bad input on the real stack', () => {
  it('a body nested 100,000 levels deep is 400 VALIDATION_ERROR, not 500; nothing is started', async () => {
    stack = await startStack({ workers: 0 });
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    for (const body of ['['.repeat(100_000) + ']'.repeat(100_000), '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)]) {
      const r = await stack.request('POST', '/v1/functions/echo/invoke', body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
      const spec = await stack.request('PUT', '/v1/functions/deep', `{"code":"x","description":${body}}`);
      expect(spec.status).toBe(400);
    }
    expect((await stack.request('GET', '/v1/executions')).body.executions).toEqual([]);
  });

  it('unknown fields are 400 VALIDATION_ERROR naming them: FunctionSpec, a new key, a cancel', async () => {
    stack = await startStack({ workers: 0 });
    const spec = await stack.request('PUT', '/v1/functions/echo', fn(ECHO, { timeout: 5 }));
    expect(spec.status).toBe(400);
    expect(spec.body.error.details.errors).toContainEqual({ field: 'body.timeout', reason: 'unknown_field', message: 'unknown field' });
    const key = await stack.request('POST', '/v1/keys', { name: 'x', scopes: ['read'], expires: '2030' });
    expect(key.status).toBe(400);
    expect(key.body.error.details.errors).toContainEqual({ field: 'body.expires', reason: 'unknown_field', message: 'unknown field' });
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const queued = await stack.request('POST', '/v1/functions/echo/invoke', {});
    const cancel = await stack.request('POST', `/v1/executions/${queued.body.executionId}/cancel`, { force: true });
    expect(cancel.status).toBe(400);
    expect(cancel.body.error.details.errors).toContainEqual({ field: 'body.force', reason: 'unknown_field', message: 'unknown field' });
    expect((await stack.request('GET', `/v1/executions/${queued.body.executionId}`)).body.status).toBe('queued');
  });
});

describe('--no-auth on the real command', () => {
  it('is refused on 0.0.0.0 with one line and exit code 2', async () => {
    proc = spawnComponent(['gateway', '--no-auth', '--host', '0.0.0.0', '--port', '0', '--scheduler', '127.0.0.1:1']);
    expect(await proc.exited).toBe(2);
    const out = proc.output().trim();
    expect(out.split('\n')).toHaveLength(1);
    expect(out).toMatch(/^taskforge: --no-auth is refused: .*'0\.0\.0\.0'.* not loopback only/);
  });

  it('is accepted on 127.0.0.1, where requests need no key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'taskforge-noauth-'));
    const scheduler = await startScheduler({ port: 0, dataDir });
    try {
      proc = spawnComponent([
        'gateway',
        '--no-auth',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--scheduler',
        scheduler.address,
        '--control-token-file',
        scheduler.tokenFiles.control,
      ]);
      const line = await proc.waitForLine(/"msg":"gateway listening"/, 20_000);
      const url = (JSON.parse(line) as { url: string }).url;
      const r = await fetch(`${url}/v1/functions`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ functions: [] });
      expect(proc.output()).toContain('API keys are off');
    } finally {
      await proc?.kill();
      proc = undefined;
      await scheduler.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
