/**
 * `make examples` (examples/run.sh) against a real stack: every example function is deployed
 * and invoked through the CLI, and the client-side chain runs through the package's client.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1, capacity: 4 });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

it('examples/run.sh deploys and invokes every example, ending with the chain', async () => {
  const script = join(import.meta.dirname, '..', '..', 'examples', 'run.sh');
  const proc = spawn('bash', [script], {
    env: { ...process.env, TASKFORGE_URL: stack.url, TASKFORGE_API_KEY: stack.adminKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  expect(code, out).toBe(0);
  for (const name of ['webhook', 'report', 'greeter', 'slow-job']) expect(out).toContain(`deployed ${name} version 1`);
  expect(out).toMatch(/webhook@1 failed FUNCTION_ERROR: InvalidPayload: invalid payload: repository.name must be a string/);
  expect(out).toContain('"message": "Hej, Ada!"');
  expect(out).toContain('west   200');
  expect(out).toContain('step 4/4 done (100%)');
  expect(out).toMatch(/chain: ex_\S+ → ex_\S+\nCommits to taskforge\n=+\nGROUP {2}TOTAL\nada {4}2\ngrace {2}1\nall {4}3\n/);
  const fns = (await stack.request('GET', '/v1/functions/greeter')).body;
  expect(fns).toMatchObject({ env: { GREETING: 'Hej', PUNCTUATION: '!' }, description: 'configured by env' });
}, 90_000);
