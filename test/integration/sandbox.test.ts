/**
 * What a function can and cannot do, through the whole stack (worker processes, real sandboxes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1, capacity: 2 });
});
afterAll(async () => {
  await stack?.close();
});

async function run(name: string, code: string, extra: Record<string, unknown> = {}, event: unknown = {}) {
  const put = await stack.request('PUT', `/v1/functions/${name}`, fn(code, { maxRetries: 0, ...extra }));
  expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
  return stack.request('POST', `/v1/functions/${name}/invoke?mode=sync`, event);
}

describe('sandbox', () => {
  it('an endless loop times out and the worker still serves', async () => {
    const r = await run('loop', 'export default async () => { for (;;) {} }', { timeoutMs: 300 });
    expect(r.status).toBe(504);
    expect(r.body.error.code).toBe('TIMEOUT');
    const ok = await run('after-loop', 'export default async () => "alive"');
    expect(ok.body).toMatchObject({ status: 'succeeded', output: 'alive' });
    expect(ok.body.workerId).toBe(r.body.workerId);
  });

  it('a heap bomb fails with OUT_OF_MEMORY', async () => {
    const r = await run('bomb', 'export default async () => { const a = []; for (;;) a.push(new Array(1e5).fill(Math.random())) }', {
      memoryMb: 32,
      timeoutMs: 20000,
    });
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('OUT_OF_MEMORY');
  });

  it('process.exit is a SANDBOX_CRASH', async () => {
    const r = await run('quit', 'export default async () => { process.exit(7) }');
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('SANDBOX_CRASH');
  });

  it('cannot write files', async () => {
    // A host directory outside /tmp: the sandbox's /tmp is its own, writable by design.
    const target = join(import.meta.dirname, '..', '..', 'dist', `taskforge-denied-${process.pid}.txt`);
    const r = await run(
      'writer',
      `import { writeFileSync } from 'node:fs'; export default async () => { writeFileSync(${JSON.stringify(target)}, 'x'); return 'wrote' }`,
    );
    expect(r.body.status).toBe('failed');
    expect(r.body.error.code).toBe('FUNCTION_ERROR');
    // EACCES where the checkout lives under /tmp: the permission model allows /tmp, and the
    // directory the sandbox sees there is an empty one it does not own.
    expect(r.body.error.message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted|EACCES/);
    expect(existsSync(target)).toBe(false);
  });

  it('cannot read files outside its runtime', async () => {
    const r = await run('reader', `import { readFileSync } from 'node:fs'; export default async () => readFileSync('/etc/hostname', 'utf8')`);
    expect(r.body.status).toBe('failed');
    expect(r.body.error.message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
  });

  it('cannot start child processes', async () => {
    const r = await run('spawner', `import { execSync } from 'node:child_process'; export default async () => execSync('id').toString()`);
    expect(r.body.status).toBe('failed');
    expect(r.body.error.message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
  });

  it('cannot start worker threads', async () => {
    const r = await run(
      'threads',
      `import { Worker } from 'node:worker_threads'; export default async () => { new Worker('1', { eval: true }); return 'started' }`,
    );
    expect(r.body.status).toBe('failed');
    expect(r.body.error.message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
  });

  it("sees only its own env, never the worker's", async () => {
    const r = await run('env', 'export default async () => ({ ...process.env })', { env: { GREETING: 'hi' } });
    expect(r.body.status).toBe('succeeded');
    // Lambda's keys are derived from the function, none from the worker.
    expect(r.body.output).toEqual({
      GREETING: 'hi',
      AWS_LAMBDA_FUNCTION_NAME: 'env',
      AWS_LAMBDA_FUNCTION_VERSION: '1',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      TZ: 'UTC',
      HOME: '/tmp',
      LANG: 'C.UTF-8',
    });
  });

  it('captures console output as the execution logs', async () => {
    const r = await run('console', 'export default async () => { console.log("a", { b: 1 }); console.warn("w"); process.stdout.write("raw\\n"); return 1 }');
    const logs = await stack.request('GET', `/v1/executions/${r.body.id}/logs`);
    const lines = logs.body.lines.map((l: { stream: string; message: string }) => `${l.stream}:${l.message}`);
    expect(lines).toEqual(['stdout:a { b: 1 }', 'stderr:w', 'stdout:raw']);
  });

  it('accepts CommonJS handlers', async () => {
    const r = await run('cjs', 'exports.handler = async (event) => event.n * 2', { handler: 'handler' }, { n: 21 });
    expect(r.body).toMatchObject({ status: 'succeeded', output: 42 });
  });

  it('a warm invoke reuses the sandbox (no cold start)', async () => {
    await run('warm', 'export default async () => process.pid');
    const second = await stack.request('POST', '/v1/functions/warm/invoke?mode=sync', {});
    const third = await stack.request('POST', '/v1/functions/warm/invoke?mode=sync', {});
    expect(third.body.coldStart).toBe(false);
    expect(third.body.output).toBe(second.body.output);
    expect(third.body.timings.initMs).toBe(0);
  });
});
