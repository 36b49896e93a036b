/**
 * /openapi.json describes every route the gateway serves, and /docs serves its UI from this
 * process alone.
 *
 * The coverage rule: every route Fastify registers (route-table.ts sees them all) is in the
 * document with its method, has a schema with a `response`, or is listed in NOT_IN_API with why.
 * A new route fails here, by name, until it has its schema (openapi.ts says how).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { sampleExecution, sampleFunction } from '../common/testing/records.js';
import { buildApp } from './app.js';
import { DOCS_CSP } from './openapi.js';
import { Execution, ExecutionLogs, FunctionInfo, Stats, WorkerList, WorkflowDefinition, WorkflowRun } from './response-schemas.js';
import { routeTableOf } from './route-table.js';
import { createFakeControlClient, sampleRun, sampleStats, sampleWorker, sampleWorkflow } from './testing/fake-control-client.js';

/** Routes that are not part of the API, so not in the document: the UI and its assets. */
const NOT_IN_API: { test: (url: string) => boolean; why: string }[] = [
  { test: (url) => url === '/docs' || url.startsWith('/docs/'), why: 'the UI and its assets' },
];

interface Operation {
  security?: unknown[];
  description?: string;
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
interface Document {
  openapi: string;
  components: { securitySchemes: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
}

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

async function documentOf(): Promise<Document> {
  app = buildApp({ control: createFakeControlClient() });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/(.)\/$/, '$1');

describe('GET /openapi.json', () => {
  it('is OpenAPI 3.1 with a Bearer security scheme, open without a key', async () => {
    const doc = await documentOf();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('lists every registered route, and only those; each has a schema with a response', async () => {
    const doc = await documentOf();
    const api = routeTableOf(app).entries.filter((r) => r.method !== 'HEAD' && !NOT_IN_API.some((x) => x.test(r.url)));
    const problems: string[] = [];
    for (const r of api) {
      const route = `${r.method} ${r.url}`;
      if (!r.schema?.response) {
        problems.push(
          `${route} is registered without a schema.response: give it schema (params/querystring/body as validated, response with errorResponses(…)), see gateway/openapi.ts`,
        );
      } else if (!doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()]) {
        problems.push(`${route} is not in /openapi.json: register it in a plugin after installApiDescription (gateway/app.ts)`);
      }
    }
    const registered = new Set(api.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`));
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops))
        if (!registered.has(`${method} ${path}`)) problems.push(`${method.toUpperCase()} ${path} is in /openapi.json but no such route exists`);
    }
    expect(problems).toEqual([]);
    // The rule has something to bite on: the API's routes are all here.
    expect(api.length).toBeGreaterThanOrEqual(18);
  });

  it('a route without a schema fails the coverage rule with a message naming it', async () => {
    app = buildApp({ control: createFakeControlClient() });
    app.get('/v1/undescribed', { config: { access: 'open' } }, async () => ({}));
    await app.ready();
    const bare = routeTableOf(app).entries.filter((r) => r.method !== 'HEAD' && !r.schema?.response);
    expect(bare.map((r) => `${r.method} ${r.url}`)).toContain('GET /v1/undescribed');
  });

  it('says per route who may call it: security and scopes, open routes without', async () => {
    const doc = await documentOf();
    const put = doc.paths['/v1/functions/{name}']!.put!;
    expect(put.security).toEqual([{ bearerAuth: [] }]);
    expect(put.description).toContain('scope admin or deploy');
    expect(doc.paths['/v1/keys']!.get!.description).toContain('scope admin.');
    for (const path of ['/healthz', '/readyz', '/openapi.json']) {
      expect(doc.paths[path]!.get!.security, path).toEqual([]);
      expect(doc.paths[path]!.get!.description, path).toContain('no API key needed');
    }
  });

  it('describes params, query, body and the errors in the API shape', async () => {
    const doc = await documentOf();
    const get = doc.paths['/v1/functions/{name}']!.get!;
    expect(get.parameters?.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:name', 'query:include', 'query:version']);
    expect(doc.paths['/v1/functions/{name}']!.put!.requestBody).toBeDefined();
    const codesAt = (op: Operation, status: string) =>
      JSON.stringify(op.responses?.[status]?.content?.['application/json']?.schema?.properties ?? {}).match(/[A-Z][A-Z_]+[A-Z]/g) ?? [];
    expect(codesAt(get, '404')).toContain('FUNCTION_NOT_FOUND');
    expect(codesAt(get, '400')).toEqual(expect.arrayContaining(['VALIDATION_ERROR', 'INVALID_NAME']));
    expect(codesAt(get, '401')).toContain('UNAUTHORIZED');
    const invoke = doc.paths['/v1/functions/{name}/invoke']!.post!;
    expect(codesAt(invoke, '429')).toEqual(expect.arrayContaining(['QUEUE_FULL', 'RATE_LIMITED']));
    expect(Object.keys(invoke.responses ?? {})).toEqual(expect.arrayContaining(['200', '202', '502', '504', '413', '415', '422', '503']));
    const details = get.responses?.['404']?.content?.['application/json']?.schema as {
      properties: { error: { properties: { details: { required: string[] } } } };
    };
    expect(details.properties.error.properties.details.required).toEqual(['reason']);
  });

  it('its response schemas accept the records the API answers', () => {
    // The gateway never validates answers, so no format is registered outside this test.
    if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v));
    expect(Value.Errors(FunctionInfo, sampleFunction('hello')).First()).toBeUndefined();
    expect(Value.Errors(Execution, sampleExecution()).First()).toBeUndefined();
    expect(Value.Errors(WorkerList, { workers: [sampleWorker()] }).First()).toBeUndefined();
    expect(Value.Errors(Stats, sampleStats()).First()).toBeUndefined();
    const logs = { executionId: 'ex_1', lines: [{ ts: '2024-01-01T00:00:00.000Z', stream: 'stdout', message: 'hi', attempt: 1 }], truncated: true, dropped: 3 };
    expect(Value.Errors(ExecutionLogs, logs).First()).toBeUndefined();
    expect(Value.Errors(WorkflowDefinition, sampleWorkflow('flow')).First()).toBeUndefined();
    const failed = sampleRun({
      status: 'failed',
      failedStep: 'a',
      steps: { a: { status: 'failed', executionId: null, function: 'f', error: { code: 'START_FAILED', message: 'x' } } },
    });
    expect(Value.Errors(WorkflowRun, failed).First()).toBeUndefined();
    expect(Value.Errors(Execution, { ...sampleExecution(), trigger: { type: 'workflow', runId: 'wr_1', step: 'a' } }).First()).toBeUndefined();
  });
});

describe('GET /docs', () => {
  it('serves the UI and every asset it names from this process, open, under a strict CSP', async () => {
    app = buildApp({ control: createFakeControlClient() });
    const page = await app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(DOCS_CSP);
    expect(DOCS_CSP).toContain("default-src 'none'");
    expect(DOCS_CSP).toContain("script-src 'self'");
    expect(DOCS_CSP).not.toMatch(/https?:|\*|'unsafe-eval'/);
    // No host anywhere in the page: every asset is a relative URL into /docs/.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(5);
    for (const asset of assets) {
      const res = await app.inject({ method: 'GET', url: new URL(asset, 'http://gateway/docs/').pathname });
      expect(res.statusCode, asset).toBe(200);
    }
    const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.body).toContain('validatorUrl: null');
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
  });
});
