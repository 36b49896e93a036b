import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError, functionNotFound } from '../../common/errors.js';
import { buildTestApp, createFakeControlClient, sampleFunction, type FakeControlClient } from '../testing/fake-control-client.js';

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Parameters<typeof createFakeControlClient>[0] = {}): void {
  ({ app, control } = buildTestApp(overrides));
}

afterEach(async () => {
  await app?.close();
});

type ErrorJson = { error: { code: string; message: string; details: { errors?: { field: string; reason: string }[] } & Record<string, unknown> } };
const err = (res: { json(): unknown }) => (res.json() as ErrorJson).error;
const fields = (res: { json(): unknown }) => (err(res).details.errors ?? []).map((e) => e.field);

const CODE = 'export default async (e) => e';
const MIB = 1024 * 1024;

describe('POST /v1/functions', () => {
  it('creates: 201 with FunctionInfo and a location; the spec reaches the client without its name', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: '/v1/functions', payload: { name: 'hello', code: CODE, timeoutMs: 1000 } });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe('/v1/functions/hello');
    expect(res.json()).toEqual(sampleFunction('hello'));
    expect(control.callsTo('putFunction')).toEqual([['hello', { code: CODE, timeoutMs: 1000 }, true]]);
  });

  it('an invalid name in the body is 400 INVALID_NAME and never reaches the client', async () => {
    build();
    for (const name of ['Hello', '1abc', 'a_b', '../etc', 'a'.repeat(64), '']) {
      const res = await app.inject({ method: 'POST', url: '/v1/functions', payload: { name, code: CODE } });
      expect(res.statusCode, name).toBe(400);
      expect(err(res).code, name).toBe('INVALID_NAME');
    }
    expect(control.calls).toHaveLength(0);
  });

  it('a missing name is VALIDATION_ERROR naming body.name', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: '/v1/functions', payload: { code: CODE } });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('VALIDATION_ERROR');
    expect(err(res).details.errors).toContainEqual({ field: 'body.name', reason: 'required', message: 'is required' });
  });

  it('FUNCTION_EXISTS from the client is 409', async () => {
    build({ putFunction: async () => Promise.reject(new TaskForgeError('FUNCTION_EXISTS', "function 'hello' already exists")) });
    const res = await app.inject({ method: 'POST', url: '/v1/functions', payload: { name: 'hello', code: CODE } });
    expect(res.statusCode).toBe(409);
    expect(err(res).code).toBe('FUNCTION_EXISTS');
  });
});

describe('PUT /v1/functions/:name', () => {
  it('201 when a version was created, 200 when unchanged', async () => {
    let created = true;
    build({ putFunction: async (name) => ({ function: sampleFunction(name, created ? 2 : 1), created }) });
    const a = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: CODE } });
    expect(a.statusCode).toBe(201);
    expect(a.json()).toMatchObject({ name: 'hello', version: 2 });
    created = false;
    const b = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: CODE } });
    expect(b.statusCode).toBe(200);
    expect(b.headers.location).toBeUndefined();
    expect(control.callsTo('putFunction')[1]).toEqual(['hello', { code: CODE }, false]);
  });

  it('accepts a body name equal to the path, rejects a different one', async () => {
    build();
    const same = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { name: 'hello', code: CODE } });
    expect(same.statusCode).toBe(201);
    expect(control.callsTo('putFunction')[0]).toEqual(['hello', { code: CODE }, false]);
    const other = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { name: 'other', code: CODE } });
    expect(other.statusCode).toBe(400);
    expect(fields(other)).toEqual(['body.name']);
  });

  it('an invalid path name is 400 INVALID_NAME', async () => {
    build();
    const res = await app.inject({ method: 'PUT', url: '/v1/functions/Bad_Name', payload: { code: CODE } });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('INVALID_NAME');
    expect(control.calls).toHaveLength(0);
  });

  it('accepts every bound at its edge', async () => {
    build();
    const env: Record<string, string> = {};
    for (let i = 0; i < 64; i++) env[`K${i}`] = 'v';
    const spec = {
      code: CODE,
      handler: '$main_1',
      runtime: 'nodejs',
      timeoutMs: 900_000,
      memoryMb: 16,
      maxRetries: 10,
      concurrency: 10_000,
      env,
      description: 'd'.repeat(256),
    };
    const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: spec });
    expect(res.statusCode).toBe(201);
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['timeoutMs below 100', { timeoutMs: 99 }, 'body.timeoutMs'],
    ['timeoutMs above 900000', { timeoutMs: 900_001 }, 'body.timeoutMs'],
    ['timeoutMs not an integer', { timeoutMs: 100.5 }, 'body.timeoutMs'],
    ['timeoutMs as a string', { timeoutMs: '1000' }, 'body.timeoutMs'],
    ['memoryMb below 16', { memoryMb: 15 }, 'body.memoryMb'],
    ['memoryMb above 4096', { memoryMb: 4097 }, 'body.memoryMb'],
    ['maxRetries above 10', { maxRetries: 11 }, 'body.maxRetries'],
    ['maxRetries negative', { maxRetries: -1 }, 'body.maxRetries'],
    ['concurrency above 10000', { concurrency: 10_001 }, 'body.concurrency'],
    ['runtime other than nodejs', { runtime: 'python' }, 'body.runtime'],
    ['handler not an identifier', { handler: 'my-handler' }, 'body.handler'],
    ['description over 256', { description: 'x'.repeat(257) }, 'body.description'],
    ['env key lower case', { env: { lower: 'x' } }, 'body.env.lower'],
    ['env value not a string', { env: { A: 1 } }, 'body.env.A'],
    ['env not an object', { env: ['A'] }, 'body.env'],
    ['unknown field', { memory: 128 }, 'body.memory'],
    ['empty code', { code: '' }, 'body.code'],
  ];
  for (const [what, patch, field] of bad) {
    it(`400 VALIDATION_ERROR for ${what}, naming ${field}`, async () => {
      build();
      const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: CODE, ...patch } });
      expect(res.statusCode).toBe(400);
      expect(err(res).code).toBe('VALIDATION_ERROR');
      expect(fields(res)).toContain(field);
      expect(control.calls).toHaveLength(0);
    });
  }

  it('env over 64 keys is VALIDATION_ERROR on body.env', async () => {
    build();
    const env: Record<string, string> = {};
    for (let i = 0; i < 65; i++) env[`K${i}`] = 'v';
    const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: CODE, env } });
    expect(res.statusCode).toBe(400);
    expect(fields(res)).toEqual(['body.env']);
  });

  it('env over 4 KiB in total is VALIDATION_ERROR on body.env', async () => {
    build();
    const ok = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: CODE, env: { A: 'x'.repeat(4095) } } });
    expect(ok.statusCode).toBe(201);
    const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: CODE, env: { A: 'x'.repeat(4096) } } });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('VALIDATION_ERROR');
    expect(fields(res)).toEqual(['body.env']);
  });

  it('a missing or non-object body is VALIDATION_ERROR', async () => {
    build();
    for (const payload of [undefined, '[]', '"code"']) {
      const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', headers: { 'content-type': 'application/json' }, payload });
      expect(res.statusCode).toBe(400);
      expect(err(res).code).toBe('VALIDATION_ERROR');
      expect(fields(res)).toEqual(['body']);
    }
  });

  it('code of exactly 5 MiB is accepted; one byte more is 413 PAYLOAD_TOO_LARGE', async () => {
    build();
    const ok = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: 'x'.repeat(5 * MIB) } });
    expect(ok.statusCode).toBe(201);
    const big = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: 'x'.repeat(5 * MIB + 1) } });
    expect(big.statusCode).toBe(413);
    expect(err(big)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { field: 'body.code', limitBytes: 5 * MIB } });
  });

  it('code size counts UTF-8 bytes, not characters', async () => {
    build();
    // 2 MiB characters of 3 bytes each: 6 MiB of code.
    const res = await app.inject({ method: 'POST', url: '/v1/functions', payload: { name: 'hello', code: '€'.repeat(2 * MIB) } });
    expect(res.statusCode).toBe(413);
    expect(err(res).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a body over the function body limit is 413 before parsing', async () => {
    build();
    const res = await app.inject({
      method: 'PUT',
      url: '/v1/functions/hello',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ code: 'x'.repeat(7 * MIB) }),
    });
    expect(res.statusCode).toBe(413);
    expect(err(res).code).toBe('PAYLOAD_TOO_LARGE');
    expect(control.calls).toHaveLength(0);
  });

  it('a spec nested deeper than 512 levels is 400 VALIDATION_ERROR, never a 500', async () => {
    build();
    const deep = `{"code":"x","env":${'{"A":'.repeat(100_000)}"v"${'}'.repeat(100_000)}}`;
    const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', headers: { 'content-type': 'application/json' }, payload: deep });
    expect(res.statusCode).toBe(400);
    expect(err(res)).toMatchObject({ code: 'VALIDATION_ERROR', details: { errors: [{ field: 'body' }] } });
    expect(control.calls).toHaveLength(0);
  });

  it('INVALID_CODE from the client is 400', async () => {
    build({ putFunction: async () => Promise.reject(new TaskForgeError('INVALID_CODE', "module has no export 'default'")) });
    const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: 'let x' } });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('INVALID_CODE');
  });
});

describe('reading and deleting functions', () => {
  it('GET /v1/functions lists them', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/functions' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ functions: [sampleFunction('a'), sampleFunction('b')] });
  });

  it('GET /v1/functions/:name passes include=code and version through; other values are rejected', async () => {
    build();
    expect((await app.inject({ method: 'GET', url: '/v1/functions/hello' })).json()).toEqual(sampleFunction('hello'));
    await app.inject({ method: 'GET', url: '/v1/functions/hello?include=code' });
    await app.inject({ method: 'GET', url: '/v1/functions/hello?include=code&version=2' });
    expect(control.callsTo('getFunction')).toEqual([
      ['hello', false, undefined],
      ['hello', true, undefined],
      ['hello', true, 2],
    ]);
    expect((await app.inject({ method: 'GET', url: '/v1/functions/hello?version=0' })).statusCode).toBe(400);
    const bad = await app.inject({ method: 'GET', url: '/v1/functions/hello?include=secrets' });
    expect(bad.statusCode).toBe(400);
    expect(err(bad).details.errors).toEqual([{ field: 'query.include', reason: 'enum', message: 'must be "code"' }]);
  });

  it('GET /v1/functions/:name of a missing function is 404 FUNCTION_NOT_FOUND', async () => {
    build({ getFunction: async (name) => Promise.reject(functionNotFound(name)) });
    const res = await app.inject({ method: 'GET', url: '/v1/functions/ghost' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'FUNCTION_NOT_FOUND', message: "function 'ghost' does not exist", details: { reason: 'not_found', name: 'ghost' } },
    });
  });

  it('GET /v1/functions/:name/versions', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/functions/hello/versions' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ versions: [sampleFunction('hello', 2), sampleFunction('hello', 1)] });
  });

  it('DELETE /v1/functions/:name is 204 with no body', async () => {
    build();
    const res = await app.inject({ method: 'DELETE', url: '/v1/functions/hello' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(control.callsTo('deleteFunction')).toEqual([['hello']]);
  });

  it('DELETE of an invalid name is INVALID_NAME', async () => {
    build();
    const res = await app.inject({ method: 'DELETE', url: '/v1/functions/..%2Fetc' });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('INVALID_NAME');
    expect(control.calls).toHaveLength(0);
  });

  it('unknown query parameters are rejected by name', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/functions?page=2' });
    expect(res.statusCode).toBe(400);
    expect(err(res).details.errors).toEqual([{ field: 'query.page', reason: 'unknown_field', message: 'unknown field' }]);
  });
});
