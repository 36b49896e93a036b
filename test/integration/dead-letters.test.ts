/**
 * Dead letters and retries on a real stack: what ends up in GET /v1/dead-letters, what a retry
 * runs (the same version and input, even after a new version), and who may see or retry what.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const FAILING = "export default async (e) => { if (e.fail) throw new Error('no'); return { v: 1, e }; };";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  await stack.request('PUT', '/v1/functions/dlq', fn(FAILING, { maxRetries: 0 }));
});
afterAll(async () => {
  await stack?.close();
});

async function finished(id: string): Promise<Record<string, unknown>> {
  return (await stack.request('GET', `/v1/executions/${id}?waitMs=10000`)).body as Record<string, unknown>;
}

describe('dead letters', () => {
  it('lists async executions that failed for good, not sync ones nor successes, newest first', async () => {
    const a = (await stack.request('POST', '/v1/functions/dlq/invoke', { fail: true, n: 1 })).body.executionId as string;
    const b = (await stack.request('POST', '/v1/functions/dlq/invoke', { fail: true, n: 2 })).body.executionId as string;
    const ok = (await stack.request('POST', '/v1/functions/dlq/invoke', { n: 3 })).body.executionId as string;
    await stack.request('POST', '/v1/functions/dlq/invoke?mode=sync', { fail: true, n: 4 });
    for (const id of [a, b, ok]) await finished(id);

    const page = await stack.request('GET', '/v1/dead-letters?function=dlq');
    expect(page.status).toBe(200);
    const ids = (page.body.deadLetters as { id: string }[]).map((e) => e.id);
    expect(ids).toEqual([b, a]);
    expect(page.body.deadLetters[0]).toMatchObject({ status: 'failed', mode: 'async', error: { code: 'FUNCTION_ERROR' } });
    expect(page.body.deadLetters[0]).not.toHaveProperty('input');

    const first = await stack.request('GET', '/v1/dead-letters?function=dlq&limit=1');
    expect(first.body.deadLetters.map((e: { id: string }) => e.id)).toEqual([b]);
    const next = await stack.request('GET', `/v1/dead-letters?function=dlq&limit=1&cursor=${first.body.nextCursor as string}`);
    expect(next.body.deadLetters.map((e: { id: string }) => e.id)).toEqual([a]);
  });

  it('a retry runs the same version with the same input, and takes the original off the list', async () => {
    const id = (await stack.request('POST', '/v1/functions/dlq/invoke', { fail: true, n: 5 })).body.executionId as string;
    await finished(id);
    // A newer version exists by now; the retry stays on the failed one's.
    await stack.request('PUT', '/v1/functions/dlq', fn(`${FAILING}\n// v2`, { maxRetries: 0 }));

    const retried = await stack.request('POST', `/v1/executions/${id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.headers.get('location')).toBe(`/v1/executions/${retried.body.executionId as string}`);
    const rec = await finished(retried.body.executionId as string);
    expect(rec).toMatchObject({ version: 1, input: { fail: true, n: 5 }, trigger: { type: 'retry', of: id }, status: 'failed' });

    const ids = ((await stack.request('GET', '/v1/dead-letters?function=dlq')).body.deadLetters as { id: string }[]).map((e) => e.id);
    expect(ids).not.toContain(id);
    // The retry failed too: it is a dead letter of its own, until retried.
    expect(ids).toContain(retried.body.executionId);
  });

  it('refuses to retry what has not finished (409), or what does not exist (404)', async () => {
    await stack.request('PUT', '/v1/functions/slow', fn('export default async () => { await new Promise((r) => setTimeout(r, 2000)); return 1; };'));
    const running = (await stack.request('POST', '/v1/functions/slow/invoke', {})).body.executionId as string;
    const conflict = await stack.request('POST', `/v1/executions/${running}/retry`);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'EXECUTION_NOT_FINISHED', details: { reason: 'not_finished', id: running } });
    expect((await stack.request('POST', '/v1/executions/ex_doesnotexist000000/retry')).status).toBe(404);
    expect((await stack.request('POST', `/v1/executions/${running}/retry`, { extra: 1 })).status).toBe(400);
  });

  it('a key limited to other functions sees none of them and cannot retry them', async () => {
    const other = (await stack.request('POST', '/v1/keys', { name: 'other-fn', scopes: ['invoke'], functions: ['slow'] })).body.key as string;
    const dl = await stack.requestAs(other, 'GET', '/v1/dead-letters');
    expect(dl.status).toBe(200);
    expect(dl.body.deadLetters).toEqual([]);
    expect((await stack.requestAs(other, 'GET', '/v1/dead-letters?function=dlq')).status).toBe(403);
    const someDead = (await stack.request('GET', '/v1/dead-letters?function=dlq')).body.deadLetters[0].id as string;
    expect((await stack.requestAs(other, 'POST', `/v1/executions/${someDead}/retry`)).status).toBe(404);
    const reader = (await stack.request('POST', '/v1/keys', { name: 'reader', scopes: ['read'] })).body.key as string;
    expect((await stack.requestAs(reader, 'POST', `/v1/executions/${someDead}/retry`)).status).toBe(403);
  });
});

describe('taskforge dlq and taskforge retry', () => {
  it('lists the dead letters and retries one by id', async () => {
    const env = { TASKFORGE_URL: stack.url, TASKFORGE_API_KEY: stack.adminKey };
    await stack.request('PUT', '/v1/functions/cli-dlq', fn(FAILING, { maxRetries: 0 }));
    const id = (await stack.request('POST', '/v1/functions/cli-dlq/invoke', { fail: true })).body.executionId as string;
    await finished(id);
    const listed = await runCli(['dlq', '--function', 'cli-dlq'], { env });
    expect(listed.code).toBe(EXIT.ok);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('FUNCTION_ERROR');
    const retried = await runCli(['retry', id, '--json'], { env });
    expect(retried.code).toBe(EXIT.ok);
    const accepted = JSON.parse(retried.stdout) as { executionId: string };
    expect((await finished(accepted.executionId)).trigger).toEqual({ type: 'retry', of: id });
    const empty = await runCli(['dlq', '--function', 'cli-dlq', '--json'], { env });
    expect((JSON.parse(empty.stdout) as { deadLetters: { id: string }[] }).deadLetters.map((e) => e.id)).toEqual([accepted.executionId]);
  });
});
