/**
 * Three handler styles as AWS Lambda's Node.js docs write them, registered without `handler` and
 * run on a real stack (scheduler, gateway, worker, sandbox), with the context and env they read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fn, startStack, type Stack } from '../helpers/stack.js';

// "Define Lambda function handler in Node.js": an async ES module handler.
const ASYNC_ESM = `
export const handler = async (event, context) => {
  console.log("EVENT: \\n" + JSON.stringify(event, null, 2));
  return {
    statusCode: 200,
    body: JSON.stringify({ message: \`Order \${event.order_id} processed\`, requestId: context.awsRequestId }),
  };
};`;

// "Using the Lambda context object": a callback handler.
const CALLBACK = `
exports.handler = function (event, context, callback) {
  console.log('remaining time =', context.getRemainingTimeInMillis());
  console.log('functionName =', context.functionName);
  console.log('AWSrequestID =', context.awsRequestId);
  context.callbackWaitsForEmptyEventLoop = false;
  callback(null, { name: context.functionName, version: context.functionVersion, memory: context.memoryLimitInMB, remaining: context.getRemainingTimeInMillis() });
};`;

// "Logging": an async CommonJS exports.handler reading the environment.
const CJS_ENV = `
exports.handler = async function (event, context) {
  console.info("EVENT\\n" + JSON.stringify(event, null, 2));
  console.warn("Event not processed.");
  return {
    fn: process.env.AWS_LAMBDA_FUNCTION_NAME,
    version: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    tz: process.env.TZ,
    home: process.env.HOME,
    stage: process.env.STAGE,
    requestId: context.awsRequestId,
  };
};`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});
afterAll(async () => {
  await stack?.close();
});

async function logs(id: string): Promise<string[]> {
  const r = await stack.request('GET', `/v1/executions/${id}/logs`);
  return (r.body.lines as { message: string }[]).map((l) => l.message);
}

describe('porting AWS Lambda handlers', () => {
  it('runs an async ES module handler: export const handler', async () => {
    expect((await stack.request('PUT', '/v1/functions/orders', fn(ASYNC_ESM))).status).toBe(201);
    const r = await stack.request('POST', '/v1/functions/orders/invoke?mode=sync', { order_id: 12345 });
    expect(r.body).toMatchObject({ status: 'succeeded', output: { statusCode: 200 } });
    expect(JSON.parse(r.body.output.body)).toEqual({ message: 'Order 12345 processed', requestId: r.body.id });
    expect((await logs(r.body.id))[0]).toContain('"order_id": 12345');
  });

  it('runs a callback handler: exports.handler = function (event, context, callback)', async () => {
    expect((await stack.request('PUT', '/v1/functions/ctx-demo', fn(CALLBACK, { memoryMb: 256, timeoutMs: 3000 }))).status).toBe(201);
    const r = await stack.request('POST', '/v1/functions/ctx-demo/invoke?mode=sync', {});
    expect(r.body).toMatchObject({ status: 'succeeded', output: { name: 'ctx-demo', version: '1', memory: '256' } });
    expect(r.body.output.remaining).toBeGreaterThan(0);
    expect(r.body.output.remaining).toBeLessThanOrEqual(3000);
    const lines = await logs(r.body.id);
    expect(lines).toContain('functionName = ctx-demo');
    expect(lines).toContain(`AWSrequestID = ${r.body.id}`);
  });

  it('runs an async CommonJS exports.handler with the Lambda env next to its own', async () => {
    const put = await stack.request('PUT', '/v1/functions/env-demo', fn(CJS_ENV, { memoryMb: 192, env: { STAGE: 'prod' } }));
    expect(put.status).toBe(201);
    expect(put.body.handler).toBe('default');
    const r = await stack.request('POST', '/v1/functions/env-demo/invoke?mode=sync', { hello: 'world' });
    expect(r.body).toMatchObject({
      status: 'succeeded',
      output: { fn: 'env-demo', version: '1', memory: '192', tz: 'UTC', home: '/tmp', stage: 'prod', requestId: r.body.id },
    });
    expect(await logs(r.body.id)).toContain('Event not processed.');
  });

  it("fails with FUNCTION_ERROR and keeps the thrown error's code and fields in error.details", async () => {
    const code = "exports.handler = async () => { throw Object.assign(new TypeError('email is required'), { code: 'E_VALIDATION', field: 'email' }); };";
    expect((await stack.request('PUT', '/v1/functions/validator', fn(code, { maxRetries: 0 }))).status).toBe(201);
    const r = await stack.request('POST', '/v1/functions/validator/invoke?mode=sync', {});
    expect(r.body).toMatchObject({
      status: 'failed',
      error: { code: 'FUNCTION_ERROR', name: 'TypeError', message: 'email is required', details: { code: 'E_VALIDATION', field: 'email' } },
    });
    const again = await stack.request('GET', `/v1/executions/${r.body.id}`);
    expect(again.body.error.details).toEqual({ code: 'E_VALIDATION', field: 'email' });
  });
});
