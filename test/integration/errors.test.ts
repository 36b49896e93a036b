/**
 * Every error code of the API through the real stack: status, code and the one error shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { startGateway } from '../../gateway/main.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  await stack.request('PUT', '/v1/functions/echo', fn('export default async (e) => e'));
});
afterAll(async () => {
  await stack?.close();
});

function expectError(r: { status: number; body: any }, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(r.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
  expect(JSON.stringify(r.body)).not.toMatch(/at .*\.(ts|js):\d+/);
}

describe('API errors', () => {
  it('400 VALIDATION_ERROR names the field', async () => {
    const r = await stack.request('PUT', '/v1/functions/x', { code: 'export default () => 1', timeoutMs: 5 });
    expectError(r, 400, 'VALIDATION_ERROR');
    expect(JSON.stringify(r.body.error.details)).toContain('timeoutMs');
  });
  it('400 VALIDATION_ERROR for malformed JSON', async () => {
    expectError(await stack.request('PUT', '/v1/functions/x', '{"code":'), 400, 'VALIDATION_ERROR');
  });
  it('400 INVALID_NAME for a bad function name and a bad execution id', async () => {
    expectError(await stack.request('PUT', '/v1/functions/Bad_Name', fn('export default () => 1')), 400, 'INVALID_NAME');
    expectError(await stack.request('POST', '/v1/functions', fn('export default () => 1', { name: '../etc' })), 400, 'INVALID_NAME');
    expectError(await stack.request('GET', '/v1/executions/..%2F..%2Fetc'), 400, 'INVALID_NAME');
  });
  it('400 INVALID_CODE for code that does not parse or lacks the handler', async () => {
    expectError(await stack.request('PUT', '/v1/functions/broken', fn('export default async () => {')), 400, 'INVALID_CODE');
    expectError(await stack.request('PUT', '/v1/functions/nohandler', fn('export const other = 1', { handler: 'main' })), 400, 'INVALID_CODE');
  });
  it('400 INVALID_CODE names the fix: bundle a package import, export a function, pick an existing export', async () => {
    const bare = await stack.request('PUT', '/v1/functions/bare', fn("import _ from 'lodash';\nexport default () => _;"));
    expectError(bare, 400, 'INVALID_CODE');
    expect(bare.body.error.message).toContain('bundle it, e.g. esbuild --bundle --platform=node');
    expect(bare.body.error.details).toMatchObject({ field: 'body.code', reason: 'not_bundled', specifier: 'lodash' });
    const required = await stack.request('PUT', '/v1/functions/bare', fn("const _ = require('lodash');\nexports.handler = async () => _;"));
    expectError(required, 400, 'INVALID_CODE');
    expect(required.body.error.details).toMatchObject({ reason: 'not_bundled', specifier: 'lodash' });
    const notFn = await stack.request('PUT', '/v1/functions/notfn', fn('export default 42'));
    expectError(notFn, 400, 'INVALID_CODE');
    expect(notFn.body.error.message).toContain("handler 'default' is not a function: the default export is a number");
    expect(notFn.body.error.details).toMatchObject({ field: 'body.handler', reason: 'not_a_function' });
    const missing = await stack.request('PUT', '/v1/functions/missing', fn('export const main = () => 1;\nexport const util = 2;'));
    expectError(missing, 400, 'INVALID_CODE');
    expect(missing.body.error.details).toMatchObject({ reason: 'no_handler', exports: ['main', 'util'] });
    expect(missing.body.error.message).toContain('exports: main, util; set handler to one of them');
  });
  it('finds a Lambda-style exports.handler without setting handler, and runs it', async () => {
    const put = await stack.request(
      'PUT',
      '/v1/functions/lambda-style',
      fn("exports.handler = async (event) => ({ hello: event.name, fs: typeof require('fs').readFileSync });"),
    );
    expect(put.status).toBe(201);
    expect(put.body.handler).toBe('default');
    const r = await stack.request('POST', '/v1/functions/lambda-style/invoke?mode=sync', { name: 'x' });
    expect(r.body).toMatchObject({ status: 'succeeded', output: { hello: 'x', fs: 'function' } });
  });
  it('404 FUNCTION_NOT_FOUND, EXECUTION_NOT_FOUND, NOT_FOUND', async () => {
    expectError(await stack.request('GET', '/v1/functions/nope'), 404, 'FUNCTION_NOT_FOUND');
    expectError(await stack.request('POST', '/v1/functions/nope/invoke'), 404, 'FUNCTION_NOT_FOUND');
    expectError(await stack.request('GET', '/v1/executions/ex_doesnotexist'), 404, 'EXECUTION_NOT_FOUND');
    expectError(await stack.request('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
  });
  it('409 FUNCTION_EXISTS on POST of a taken name', async () => {
    expectError(await stack.request('POST', '/v1/functions', fn('export default () => 1', { name: 'echo' })), 409, 'FUNCTION_EXISTS');
  });
  it('413 PAYLOAD_TOO_LARGE for an invoke body over 1 MiB', async () => {
    expectError(await stack.request('POST', '/v1/functions/echo/invoke', { big: 'x'.repeat(1024 * 1024 + 10) }), 413, 'PAYLOAD_TOO_LARGE');
  });
  it('415 UNSUPPORTED_MEDIA_TYPE', async () => {
    expectError(await stack.request('POST', '/v1/functions/echo/invoke', 'hello', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
  it('DELETE: 204, then later invokes are 404', async () => {
    await stack.request('PUT', '/v1/functions/gone', fn('export default () => 1'));
    expect((await stack.request('DELETE', '/v1/functions/gone')).status).toBe(204);
    expectError(await stack.request('POST', '/v1/functions/gone/invoke'), 404, 'FUNCTION_NOT_FOUND');
    expectError(await stack.request('DELETE', '/v1/functions/gone'), 404, 'FUNCTION_NOT_FOUND');
  });
  it('healthz and readyz', async () => {
    expect((await stack.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await stack.request('GET', '/readyz')).status).toBe(200);
  });
  it('503 SCHEDULER_UNAVAILABLE when the gateway cannot reach the scheduler', async () => {
    const gw = await startGateway({ port: 0, host: '127.0.0.1', scheduler: '127.0.0.1:1', logger: silentLogger });
    try {
      // The key cannot even be checked: that is the scheduler's outage, not the client's fault.
      const res = await fetch(`http://127.0.0.1:${gw.port}/v1/functions`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
      expectError({ status: res.status, body: await res.json() }, 503, 'SCHEDULER_UNAVAILABLE');
      const ready = await fetch(`http://127.0.0.1:${gw.port}/readyz`);
      expect(ready.status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${gw.port}/healthz`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe('functions API', () => {
  it('create, get, list, update with versions, include=code', async () => {
    const created = await stack.request('POST', '/v1/functions', fn('export default async () => 1', { name: 'crud', description: 'd' }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'crud',
      version: 1,
      handler: 'default',
      runtime: 'nodejs',
      timeoutMs: 30000,
      memoryMb: 128,
      maxRetries: 2,
      concurrency: 0,
      env: {},
      description: 'd',
      codeBytes: 28,
      codeSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(created.body).not.toHaveProperty('code');
    const same = await stack.request('PUT', '/v1/functions/crud', fn('export default async () => 1', { description: 'd' }));
    expect(same.status).toBe(200);
    expect(same.body.version).toBe(1);
    const next = await stack.request('PUT', '/v1/functions/crud', fn('export default async () => 2', { description: 'd' }));
    expect(next.status).toBe(201);
    expect(next.body.version).toBe(2);
    expect((await stack.request('GET', '/v1/functions/crud?include=code')).body.code).toBe('export default async () => 2');
    // An older version, with its own code.
    expect((await stack.request('GET', '/v1/functions/crud?version=1&include=code')).body).toMatchObject({ version: 1, code: 'export default async () => 1' });
    const gone = await stack.request('GET', '/v1/functions/crud?version=9');
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'FUNCTION_NOT_FOUND', details: { name: 'crud', version: 9 } });
    const list = await stack.request('GET', '/v1/functions');
    const names = list.body.functions.map((f: { name: string }) => f.name);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('crud');
    const versions = await stack.request('GET', '/v1/functions/crud/versions');
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  });

  it('re-creating a deleted name continues its version numbers', async () => {
    await stack.request('PUT', '/v1/functions/phoenix', fn('export default async () => 1'));
    await stack.request('DELETE', '/v1/functions/phoenix');
    const again = await stack.request('POST', '/v1/functions', fn('export default async () => 2', { name: 'phoenix' }));
    expect(again.status).toBe(201);
    expect(again.body.version).toBe(2);
  });
});
