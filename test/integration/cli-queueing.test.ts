/**
 * `taskforge invoke --delay / --at / --priority / --batch` end to end: the built command against
 * a real stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { runCli, type CliRunOptions } from '../helpers/cli.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const ECHO = 'export default async (e) => ({ echo: e })';

let stack: Stack;
let opts: CliRunOptions;
const cli = (...args: string[]) => runCli(args, opts);

beforeAll(async () => {
  stack = await startStack({ workers: 1, capacity: 2 });
  opts = { env: { TASKFORGE_URL: stack.url, TASKFORGE_API_KEY: stack.adminKey } };
  await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe('taskforge invoke: delayed, prioritised and batch', () => {
  it('--delay queues it (delayed means async) and prints its id; the record has scheduledFor and the priority', async () => {
    const r = await cli('invoke', 'echo', '--delay', '400', '--priority', 'high', '-d', '{"a":1}');
    expect(r.code).toBe(EXIT.ok);
    const id = r.stdout.trim();
    expect(id).toMatch(/^ex_/);
    const rec = (await stack.request('GET', `/v1/executions/${id}?waitMs=10000`)).body;
    expect(rec).toMatchObject({ status: 'succeeded', priority: 'high', output: { echo: { a: 1 } } });
    expect(Date.parse(rec.scheduledFor) - Date.parse(rec.createdAt)).toBe(400);
    expect(Date.parse(rec.startedAt)).toBeGreaterThanOrEqual(Date.parse(rec.scheduledFor));
  });

  it('--at with --wait waits for the end and exits 0', async () => {
    const at = new Date(Date.now() + 300).toISOString();
    const r = await cli('invoke', 'echo', '--at', at, '--wait', '-d', '2');
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.stdout)).toEqual({ echo: 2 });
  });

  it('--batch sends a JSON array as one batch and prints one id per line, in order', async () => {
    const r = await cli('invoke', 'echo', '--batch', '-d', '[1,2,3]');
    expect(r.code).toBe(EXIT.ok);
    const ids = r.stdout.trim().split('\n');
    expect(ids).toHaveLength(3);
    for (const [i, id] of ids.entries()) {
      const rec = (await stack.request('GET', `/v1/executions/${id}?waitMs=10000`)).body;
      expect(rec.input).toBe(i + 1);
    }
  });

  it('usage errors: a bad priority, --delay with --at, --batch without an array; the API refuses a far --at', async () => {
    expect((await cli('invoke', 'echo', '--priority', 'urgent')).code).toBe(EXIT.usage);
    expect((await cli('invoke', 'echo', '--delay', '5', '--at', '2030-01-01T00:00:00Z')).code).toBe(EXIT.usage);
    expect((await cli('invoke', 'echo', '--batch', '-d', '{"a":1}')).code).toBe(EXIT.usage);
    const far = await cli('invoke', 'echo', '--at', '2099-01-01T00:00:00Z');
    expect(far.code).toBe(EXIT.error);
    expect(far.stderr).toMatch(/VALIDATION_ERROR/);
  });
});
