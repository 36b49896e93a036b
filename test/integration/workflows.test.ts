/**
 * Workflows on a real stack (docs/WORKFLOWS.md): a DAG's steps run as ordinary executions on real
 * workers, in parallel where their needs allow, with their inputs mapped from the run's input
 * and earlier outputs; a failed step skips its dependents and fails the run; a run can be
 * cancelled; the definition is validated.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/records.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Polls the run until it is terminal (the condition, not a fixed sleep, ends the wait). */
async function waitRun(s: Stack, id: string, until: (run: any) => boolean = (r) => TERMINAL.includes(r.status)): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await s.request('GET', `/v1/workflow-runs/${id}`);
    expect(r.status).toBe(200);
    if (until(r.body)) return r.body;
    if (Date.now() > deadline) throw new Error(`run ${id} is still ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

async function execution(s: Stack, id: string): Promise<Execution> {
  return (await s.request('GET', `/v1/executions/${id}`)).body as Execution;
}

async function deploy(s: Stack, name: string, code: string): Promise<void> {
  const r = await s.request('PUT', `/v1/functions/${name}`, fn(code, { maxRetries: 0 }));
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

describe('workflows', () => {
  it('a diamond runs b and c at once, maps $.input and $.steps.a.output.field, and answers the sink outputs', { timeout: 30_000 }, async () => {
    stack = await startStack({ workers: 1, capacity: 4 });
    await deploy(stack, 'double', 'export default async (e) => ({ field: e.x * 2, other: "o" })');
    // Each waits long enough that two started together are both running at one moment.
    await deploy(stack, 'slow', 'export default async (e) => { await new Promise((r) => setTimeout(r, 400)); return e }');
    await deploy(stack, 'join', 'export default async (e) => ({ sum: e.b.fromA + e.c.fromA, names: [e.b.tag, e.c.tag] })');
    const def = await stack.request('PUT', '/v1/workflows/diamond', {
      steps: [
        { id: 'a', function: 'double', input: { x: '$.input.n' } },
        { id: 'b', function: 'slow', needs: ['a'], input: { fromA: '$.steps.a.output.field', tag: 'b', all: '$.input' } },
        { id: 'c', function: 'slow', needs: ['a'], input: { fromA: '$.steps.a.output.field', tag: 'c' } },
        { id: 'd', function: 'join', needs: ['b', 'c'], input: { b: '$.steps.b.output', c: '$.steps.c.output' } },
      ],
    });
    expect(def.status, JSON.stringify(def.body)).toBe(201);
    expect(def.body).toMatchObject({ name: 'diamond', version: 1 });
    expect((await stack.request('GET', '/v1/workflows/diamond')).body.steps).toHaveLength(4);
    expect((await stack.request('GET', '/v1/workflows')).body.workflows.map((w: { name: string }) => w.name)).toEqual(['diamond']);

    const started = await stack.request('POST', '/v1/workflows/diamond/runs', { n: 5 });
    expect(started.status).toBe(202);
    expect(started.body.statusUrl).toBe(`/v1/workflow-runs/${started.body.runId}`);
    expect(started.headers.get('location')).toBe(started.body.statusUrl);

    const run = await waitRun(stack, started.body.runId);
    expect(run).toMatchObject({ workflow: 'diamond', status: 'succeeded', failedStep: null, input: { n: 5 } });
    expect(run.output).toEqual({ d: { sum: 20, names: ['b', 'c'] } });
    for (const id of ['a', 'b', 'c', 'd']) expect(run.steps[id]).toMatchObject({ status: 'succeeded', executionId: expect.any(String) });

    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((id) => execution(stack!, run.steps[id].executionId)));
    expect(a!.input).toEqual({ x: 5 });
    expect(b!.input).toEqual({ fromA: 10, tag: 'b', all: { n: 5 } });
    expect(b!.trigger).toEqual({ type: 'workflow', runId: run.id, step: 'b' });
    expect(b!.idempotencyKey).toBe(`wf:${run.id}:b`);
    // b and c overlapped: each started before the other finished.
    const t = (s: string | null): number => Date.parse(s!);
    expect(t(b!.startedAt)).toBeLessThan(t(c!.finishedAt));
    expect(t(c!.startedAt)).toBeLessThan(t(b!.finishedAt));
    // d started only after both ended, a ended before either started.
    expect(t(d!.startedAt)).toBeGreaterThanOrEqual(Math.max(t(b!.finishedAt), t(c!.finishedAt)));
    expect(t(a!.finishedAt)).toBeLessThanOrEqual(Math.min(t(b!.startedAt), t(c!.startedAt)));

    const list = await stack.request('GET', '/v1/workflow-runs?workflow=diamond');
    expect(list.body.runs.map((r: { id: string }) => r.id)).toEqual([run.id]);

    // The same Idempotency-Key answers the same run; with another body it is refused.
    const keyed = await stack.request('POST', '/v1/workflows/diamond/runs', { n: 1 }, { 'idempotency-key': 'k-1' });
    const again = await stack.request('POST', '/v1/workflows/diamond/runs', { n: 1 }, { 'idempotency-key': 'k-1' });
    expect(again.body.runId).toBe(keyed.body.runId);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await stack.request('POST', '/v1/workflows/diamond/runs', { n: 2 }, { 'idempotency-key': 'k-1' });
    expect(other.status).toBe(422);
    expect(other.body.error).toMatchObject({ code: 'IDEMPOTENCY_MISMATCH', details: { field: 'headers.idempotency-key' } });
    await waitRun(stack, keyed.body.runId);
    expect(list.body.runs[0].input).toBeUndefined();
  });

  it('refuses cycles, unknown needs, unknown functions and outputs a step does not need (400, naming the step)', async () => {
    stack = await startStack({ workers: 0 });
    await deploy(stack, 'echo', 'export default async (e) => e');
    const put = (steps: unknown[]) => stack!.request('PUT', '/v1/workflows/bad', { steps });
    const cycle = await put([
      { id: 'a', function: 'echo', needs: ['c'] },
      { id: 'b', function: 'echo', needs: ['a'] },
      { id: 'c', function: 'echo', needs: ['b'] },
    ]);
    expect(cycle.status).toBe(400);
    expect(cycle.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'cycle', cycle: ['a', 'c', 'b'] } });
    const need = await put([{ id: 'a', function: 'echo', needs: ['ghost'] }]);
    expect(need.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'unknown_step', field: 'body.steps[0].needs[0]', step: 'a' } });
    const unknownFn = await put([
      { id: 'a', function: 'echo' },
      { id: 'b', function: 'nope', needs: ['a'] },
    ]);
    expect(unknownFn.body.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { reason: 'unknown_function', field: 'body.steps[1].function', step: 'b' },
    });
    const notNeeded = await put([
      { id: 'a', function: 'echo' },
      { id: 'b', function: 'echo', input: '$.steps.a.output' },
    ]);
    expect(notNeeded.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'not_needed', field: 'body.steps[1].input' } });
    const shape = await put([{ id: 'a', function: 'echo', after: [] }]);
    expect(shape.status).toBe(400);
    expect(shape.body.error.code).toBe('VALIDATION_ERROR');
    expect((await stack.request('GET', '/v1/workflows/bad')).status).toBe(404);
    expect((await stack.request('POST', '/v1/workflows/bad/runs', {})).body.error).toMatchObject({ code: 'NOT_FOUND' });
    expect((await stack.request('GET', '/v1/workflows/Bad_Name')).body.error).toMatchObject({ code: 'INVALID_NAME', details: { field: 'params.workflow' } });
    expect((await stack.request('GET', '/v1/workflow-runs/wr_missing')).status).toBe(404);
  });

  it('a failing step skips its dependents and fails the run; independent finished steps stay succeeded', { timeout: 30_000 }, async () => {
    stack = await startStack({ workers: 1, capacity: 4 });
    await deploy(stack, 'ok', 'export default async (e) => ({ ok: true })');
    await deploy(stack, 'boom', 'export default async () => { throw new Error("boom") }');
    await stack.request('PUT', '/v1/workflows/fails', {
      steps: [
        { id: 'first', function: 'ok' },
        { id: 'bad', function: 'boom', needs: ['first'] },
        { id: 'after', function: 'ok', needs: ['bad'] },
        { id: 'last', function: 'ok', needs: ['after'] },
      ],
    });
    const started = await stack.request('POST', '/v1/workflows/fails/runs');
    const run = await waitRun(stack, started.body.runId);
    expect(run).toMatchObject({ status: 'failed', failedStep: 'bad', output: null });
    expect(run.steps.first.status).toBe('succeeded');
    expect(run.steps.bad).toMatchObject({ status: 'failed', error: { code: 'FUNCTION_ERROR', message: 'boom' } });
    expect(run.steps.after).toEqual({ status: 'skipped', executionId: null, function: 'ok' });
    expect(run.steps.last.status).toBe('skipped');
    expect((await stack.request('POST', `/v1/workflow-runs/${run.id}/cancel`)).body.error).toMatchObject({ code: 'EXECUTION_FINISHED' });
  });

  it('cancel cancels the running step execution and the steps not started', { timeout: 30_000 }, async () => {
    stack = await startStack({ workers: 1 });
    await deploy(stack, 'hang', 'export default async () => { await new Promise((r) => setTimeout(r, 60000)) }');
    await deploy(stack, 'ok', 'export default async () => 1');
    await stack.request('PUT', '/v1/workflows/long', {
      steps: [
        { id: 'wait', function: 'hang' },
        { id: 'then', function: 'ok', needs: ['wait'] },
      ],
    });
    const started = await stack.request('POST', '/v1/workflows/long/runs', { any: 1 });
    await waitRun(stack, started.body.runId, (r) => r.steps.wait.status === 'running');
    const cancelled = await stack.request('POST', `/v1/workflow-runs/${started.body.runId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', steps: { then: { status: 'cancelled' } } });
    const run = await waitRun(stack, started.body.runId, (r) => r.steps.wait.status === 'cancelled');
    expect(run.status).toBe('cancelled');
    expect((await execution(stack, run.steps.wait.executionId)).status).toBe('cancelled');
  });

  it('DELETE removes the definition; its runs stay readable', { timeout: 30_000 }, async () => {
    stack = await startStack({ workers: 1 });
    await deploy(stack, 'echo', 'export default async (e) => e');
    await stack.request('PUT', '/v1/workflows/one', { steps: [{ id: 's', function: 'echo' }] });
    const replaced = await stack.request('PUT', '/v1/workflows/one', { steps: [{ id: 's', function: 'echo', input: { wrapped: '$.input' } }] });
    expect(replaced.status).toBe(200);
    expect(replaced.body.version).toBe(2);
    const started = await stack.request('POST', '/v1/workflows/one/runs', 7);
    expect((await stack.request('DELETE', '/v1/workflows/one')).status).toBe(204);
    expect((await stack.request('DELETE', '/v1/workflows/one')).status).toBe(404);
    const run = await waitRun(stack, started.body.runId);
    expect(run).toMatchObject({ status: 'succeeded', workflowVersion: 2, output: { s: { wrapped: 7 } } });
  });
});
