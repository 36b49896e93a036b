/**
 * `taskforge workflow …` end to end: the built CLI against a real stack. --json prints what the
 * API answers; `run --wait` exits like invoke (0 succeeded, 4 failed).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { runCli, type CliRunOptions } from '../helpers/cli.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let dir: string;
let opts: CliRunOptions;
const cli = (...args: string[]) => runCli(args, opts);

beforeAll(async () => {
  stack = await startStack({ workers: 1, capacity: 4 });
  dir = await mkdtemp(join(tmpdir(), 'taskforge-cli-wf-'));
  opts = { env: { TASKFORGE_URL: stack.url, TASKFORGE_API_KEY: stack.adminKey } };
  await stack.request('PUT', '/v1/functions/add', fn('export default async (e) => ({ sum: e.a + e.b })'));
  await stack.request('PUT', '/v1/functions/boom', fn('export default async () => { throw new Error("no") }', { maxRetries: 0 }));
  const steps = (second: string) => ({
    steps: [
      { id: 'first', function: 'add', input: { a: '$.input.x', b: 1 } },
      { id: 'second', function: second, needs: ['first'], input: { a: '$.steps.first.output.sum', b: 10 } },
    ],
  });
  await writeFile(join(dir, 'sum.json'), JSON.stringify(steps('add')));
  await writeFile(join(dir, 'fails.json'), JSON.stringify(steps('boom')));
  await writeFile(join(dir, 'cycle.json'), JSON.stringify({ steps: [{ id: 'a', function: 'add', needs: ['a'] }] }));
  await writeFile(join(dir, 'broken.json'), '{ steps');
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('taskforge workflow', () => {
  it('put, ls, get, run --wait, status, runs, rm', async () => {
    expect(await cli('workflow', 'put', 'sum', join(dir, 'sum.json'))).toMatchObject({ code: EXIT.ok, stdout: 'defined sum version 1 (2 steps)\n' });
    expect((await cli('workflow', 'put', 'sum', join(dir, 'sum.json'))).stdout).toBe('replaced sum version 2 (2 steps)\n');
    expect((await cli('workflow', 'ls')).stdout).toMatch(/^NAME\s+VERSION\s+STEPS[^\n]*\nsum\s+2\s+first,second/);
    const got = await cli('workflow', 'get', 'sum', '--json');
    expect(JSON.parse(got.stdout)).toEqual((await stack.request('GET', '/v1/workflows/sum')).body);

    const run = await cli('workflow', 'run', 'sum', '--data', '{"x":4}', '--wait', '--json');
    expect(run.code).toBe(EXIT.ok);
    const body = JSON.parse(run.stdout);
    expect(body).toMatchObject({ status: 'succeeded', output: { second: { sum: 15 } } });
    const status = await cli('workflow', 'status', body.id);
    expect(status.stdout).toContain(`run ${body.id}  sum v2  succeeded`);
    expect(status.stdout).toContain('output: {"second":{"sum":15}}');

    const started = await cli('workflow', 'run', 'sum');
    expect(started.stdout).toMatch(/^wr_[A-Za-z0-9]{20}\n$/);
    const runs = await cli('workflow', 'runs', '--workflow', 'sum', '--limit', '1', '--json');
    const page = JSON.parse(runs.stdout);
    expect(page.runs.map((r: { id: string }) => r.id)).toEqual([started.stdout.trim()]);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect((await cli('workflow', 'runs', '--workflow', 'sum', '--limit', '1')).stderr).toContain('more: taskforge workflow runs --cursor');

    await cli('workflow', 'put', 'tmp', join(dir, 'sum.json'));
    expect(await cli('workflow', 'rm', 'tmp', '--json')).toMatchObject({ code: EXIT.ok, stdout: '' });
    expect(await cli('workflow', 'rm', 'sum')).toMatchObject({ code: EXIT.ok, stdout: 'deleted sum\n' });
    const gone = await cli('workflow', 'get', 'sum');
    expect(gone.code).toBe(EXIT.error);
    expect(gone.stderr).toContain('NOT_FOUND');
  });

  it('a failed run exits 4 and names the failed step; a finished run cannot be cancelled', async () => {
    await cli('workflow', 'put', 'fails', join(dir, 'fails.json'));
    const run = await cli('workflow', 'run', 'fails', '--data', '{"x":1}', '--wait');
    expect(run.code).toBe(EXIT.failed);
    expect(run.stdout).toMatch(/second\s+boom\s+failed\s+ex_\S+\s+FUNCTION_ERROR: no/);
    const id = /^run (wr_\S+)/.exec(run.stdout)![1]!;
    const cancel = await cli('workflow', 'cancel', id);
    expect(cancel.code).toBe(EXIT.error);
    expect(cancel.stderr).toContain('EXECUTION_FINISHED');
  });

  it('a definition the API refuses, or a file that is not JSON, is one error line', async () => {
    const cycle = await cli('workflow', 'put', 'loop', join(dir, 'cycle.json'));
    expect(cycle.code).toBe(EXIT.error);
    expect(cycle.stderr).toContain('VALIDATION_ERROR');
    const broken = await cli('workflow', 'put', 'x', join(dir, 'broken.json'));
    expect(broken.code).toBe(EXIT.usage);
    expect(broken.stderr).toContain('is not JSON');
    expect((await cli('workflow', 'put', 'x', join(dir, 'missing.json'))).stderr).toContain('ENOENT');
  });
});
