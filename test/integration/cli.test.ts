/**
 * The `taskforge` CLI end to end: the built command against a real stack (scheduler, gateway,
 * a worker process). --json prints exactly what the API answers; errors are one line with the
 * API's code; exit codes are those of cli/exit-codes.ts.
 */
import { createServer } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { runCli, startCli, type CliRunOptions } from '../helpers/cli.js';
import { startStack, type Stack } from '../helpers/stack.js';

const HELLO = 'export default async (event, ctx) => { console.log("hi", event?.name); return { greeting: `hello ${event?.name}`, v: ctx.version } }';
const FAIL = 'export default async () => { throw new TypeError("boom") }';
const SLOW = 'export default async (e) => { await new Promise((r) => setTimeout(r, e?.ms ?? 5000)); return "done" }';
const ENV = 'export default async () => ({ greeting: process.env.GREETING ?? null })';

let stack: Stack;
let dir: string;
let opts: CliRunOptions;
const cli = (...args: string[]) => runCli(args, opts);
const json = (text: string): unknown => JSON.parse(text);

beforeAll(async () => {
  stack = await startStack({ workers: 1, capacity: 4 });
  dir = await mkdtemp(join(tmpdir(), 'taskforge-cli-test-'));
  opts = { env: { TASKFORGE_URL: stack.url, TASKFORGE_API_KEY: stack.adminKey } };
  for (const [file, code] of Object.entries({ 'hello.mjs': HELLO, 'fail.mjs': FAIL, 'slow.mjs': SLOW, 'greet.mjs': ENV }))
    await writeFile(join(dir, file), code);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('taskforge CLI against a real stack', () => {
  it('deploy: the name is the file base name, --json is the API record, a second deploy is unchanged', async () => {
    const r = await cli('deploy', join(dir, 'hello.mjs'), '--json');
    expect(r.code).toBe(EXIT.ok);
    expect(json(r.stdout)).toEqual((await stack.request('GET', '/v1/functions/hello')).body);
    const again = await cli('deploy', join(dir, 'hello.mjs'));
    expect(again).toMatchObject({ code: 0, stdout: 'hello is unchanged: version 1 has this code and settings\n' });
  });

  it('deploy takes --name, --timeout, --memory, --env and --version-note (the description)', async () => {
    const r = await cli(
      'deploy',
      join(dir, 'greet.mjs'),
      '--name',
      'greeter',
      '--timeout',
      '2000',
      '--memory',
      '64',
      '--env',
      'GREETING=hej',
      '--version-note',
      'first cut',
    );
    expect(r).toMatchObject({ code: 0, stdout: 'deployed greeter version 1\n' });
    const info = (await stack.request('GET', '/v1/functions/greeter')).body;
    expect(info).toMatchObject({ timeoutMs: 2000, memoryMb: 64, env: { GREETING: 'hej' }, description: 'first cut' });
    const run = await cli('invoke', 'greeter', '--json');
    expect((json(run.stdout) as { output: unknown }).output).toEqual({ greeting: 'hej' });
  });

  it('invoke (sync): exit 0, the output on stdout; --json is the Execution the API has', async () => {
    const human = await cli('invoke', 'hello', '--data', '{"name":"ada"}');
    expect(human.code).toBe(EXIT.ok);
    expect(json(human.stdout)).toEqual({ greeting: 'hello ada', v: 1 });
    expect(human.stderr).toMatch(/^ex_\S+ hello@1 succeeded in \d+ ms/);
    const r = await cli('invoke', 'hello', '--data', '{"name":"bo"}', '--json');
    const e = json(r.stdout) as { id: string };
    expect(json(r.stdout)).toEqual((await stack.request('GET', `/v1/executions/${e.id}`)).body);
  });

  it('invoke reads --data from @file and from stdin (-), and pins --version', async () => {
    await writeFile(join(dir, 'event.json'), '{"name":"file"}');
    expect(json((await cli('invoke', 'hello', '--data', `@${join(dir, 'event.json')}`)).stdout)).toEqual({ greeting: 'hello file', v: 1 });
    const piped = await runCli(['invoke', 'hello', '-d', '-', '--version', '1'], { ...opts, input: '{"name":"stdin"}' });
    expect(json(piped.stdout)).toEqual({ greeting: 'hello stdin', v: 1 });
    const bad = await cli('invoke', 'hello', '--data', '{nope');
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/^error INVALID_JSON: --data is not JSON/);
  });

  it('invoke --async prints the id (--json: the 202 body); --wait waits and exits by status', async () => {
    const r = await cli('invoke', 'hello', '--async', '--json');
    expect(r.code).toBe(0);
    const accepted = json(r.stdout) as { executionId: string };
    expect(accepted).toEqual({ executionId: expect.stringMatching(/^ex_/), status: 'queued', statusUrl: `/v1/executions/${accepted.executionId}` });
    const plain = await cli('invoke', 'hello', '--async');
    expect(plain.stdout).toMatch(/^ex_[A-Za-z0-9_-]+\n$/);
    const waited = await cli('invoke', 'hello', '--async', '--wait', '--json');
    expect(waited.code).toBe(0);
    expect(json(waited.stdout)).toMatchObject({ status: 'succeeded', mode: 'async' });
  });

  it('invoke exit codes: failed 4, timed out 5, cancelled 6', async () => {
    await cli('deploy', join(dir, 'fail.mjs'), '--retries', '0');
    const failed = await cli('invoke', 'fail');
    expect(failed.code).toBe(EXIT.failed);
    expect(failed.stderr).toMatch(/fail@1 failed FUNCTION_ERROR: TypeError: boom/);
    expect(failed.stdout).toBe('');

    await cli('deploy', join(dir, 'slow.mjs'), '--timeout', '300', '--retries', '0');
    expect((await cli('invoke', 'slow')).code).toBe(EXIT.timedOut);

    await cli('deploy', join(dir, 'slow.mjs'), '--timeout', '20000', '--retries', '0');
    const waiting = startCli(['invoke', 'slow', '--data', '{"ms":15000}'], opts);
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      const page = (await stack.request('GET', '/v1/executions?function=slow&status=running')).body;
      id = page.executions[0]?.id;
      if (!id) await new Promise((r) => setTimeout(r, 100));
    }
    expect(id).toBeDefined();
    const cancel = await cli('cancel', id!, '--json');
    expect(cancel.code).toBe(0);
    expect(json(cancel.stdout)).toMatchObject({ id, status: 'cancelled' });
    expect((await waiting.done).code).toBe(EXIT.cancelled);
    const again = await cli('cancel', id!);
    expect(again).toMatchObject({ code: EXIT.error, stderr: expect.stringMatching(/^error EXECUTION_FINISHED: /) });
  });

  it('get and logs: --json equals the API; text for people', async () => {
    const e = json((await cli('invoke', 'hello', '-d', '{"name":"logs"}', '--json')).stdout) as { id: string };
    const got = await cli('get', e.id, '--json');
    expect(json(got.stdout)).toEqual((await stack.request('GET', `/v1/executions/${e.id}`)).body);
    expect((await cli('get', e.id)).stdout).toMatch(/^id {10}ex_.*\nfunction {4}hello@1\nstatus {6}succeeded\n/);
    const logs = await cli('logs', e.id, '--json');
    expect(json(logs.stdout)).toEqual((await stack.request('GET', `/v1/executions/${e.id}/logs`)).body);
    expect((await cli('logs', e.id)).stdout).toMatch(/stdout hi logs\n$/);
  });

  it('ls functions and ls executions (with --function, --status, --limit): --json equals the API', async () => {
    const fns = await cli('ls', 'functions', '--json');
    expect(json(fns.stdout)).toEqual((await stack.request('GET', '/v1/functions')).body);
    expect((await cli('ls', 'functions')).stdout).toMatch(
      /^NAME +VERSION +TIMEOUT +MEMORY +UPDATED +DESCRIPTION\n(.*\n)*greeter +1 +2000 ms +64 MB .* first cut\n/,
    );
    const page = await cli('ls', 'executions', '--function', 'hello', '--status', 'succeeded', '--limit', '2', '--json');
    const api = (await stack.request('GET', '/v1/executions?function=hello&status=succeeded&limit=2')).body;
    expect(json(page.stdout)).toEqual(api);
    expect(api.executions).toHaveLength(2);
    const text = await cli('ls', 'executions', '--function', 'hello', '--limit', '2');
    expect(text.stdout.split('\n')[0]).toMatch(/^ID +FUNCTION +STATUS +MODE +DURATION +CREATED$/);
    expect(text.stderr).toMatch(/^more: taskforge ls executions --cursor \S+/);
    const bad = await cli('ls', 'executions', '--status', 'nope');
    expect(bad.code).toBe(EXIT.usage);
  });

  it('workers and stats: --json is the API answer', async () => {
    const w = json((await cli('workers', '--json')).stdout) as { workers: { id: string }[] };
    expect(w.workers.map((x) => x.id)).toEqual((await stack.request('GET', '/v1/workers')).body.workers.map((x: { id: string }) => x.id));
    expect((await cli('workers')).stdout).toMatch(/^ID +NAME +STATUS +BUSY +SANDBOX +DONE +HEARTBEAT +WARM\n/);
    const s = json((await cli('stats', '--json')).stdout);
    expect(Object.keys(s as object)).toEqual(Object.keys((await stack.request('GET', '/v1/stats')).body));
  });

  it('keys create, ls, rm; the created key works with --key and its scope is enforced', async () => {
    const created = await cli('keys', 'create', 'ci', '--scope', 'invoke', '--function', 'hello');
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^tfk_[A-Za-z0-9]{12}_[A-Za-z0-9]+$/);
    const ls = await cli('keys', 'ls', '--json');
    expect(json(ls.stdout)).toEqual((await stack.request('GET', '/v1/keys')).body);
    const asCi = await runCli(['invoke', 'hello', '--key', key, '-d', '{"name":"ci"}'], { env: { TASKFORGE_URL: stack.url } });
    expect(asCi.code).toBe(0);
    const forbidden = await runCli(['keys', 'ls', '--key', key], { env: { TASKFORGE_URL: stack.url } });
    expect(forbidden).toMatchObject({ code: EXIT.error, stderr: expect.stringMatching(/^error FORBIDDEN: [^\n]*\n$/) });
    const id = key.split('_')[1]!;
    expect(await cli('keys', 'rm', id)).toMatchObject({ code: 0, stdout: `deleted key ${id}\n` });
  });

  it('rm deletes a function; then a 404 is one line with the API code, exit 1', async () => {
    await cli('deploy', join(dir, 'hello.mjs'), '--name', 'doomed');
    expect(await cli('rm', 'doomed')).toMatchObject({ code: 0, stdout: 'deleted doomed\n' });
    const r = await cli('invoke', 'doomed');
    expect(r).toEqual({ code: EXIT.error, stdout: '', stderr: "error FUNCTION_NOT_FOUND: function 'doomed' does not exist\n" });
  });

  it('reads the key from ./data/admin.key when neither --key nor TASKFORGE_API_KEY is set', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'taskforge-cli-cwd-'));
    await mkdir(join(cwd, 'data'));
    await writeFile(join(cwd, 'data', 'admin.key'), `${stack.adminKey}\n`);
    expect((await runCli(['ls', 'functions', '--url', stack.url], { cwd })).code).toBe(0);
    const none = await runCli(['ls', 'functions', '--url', stack.url]);
    expect(none).toMatchObject({ code: EXIT.error, stderr: expect.stringMatching(/^error UNAUTHORIZED: [^\n]*\n$/) });
    await rm(cwd, { recursive: true, force: true });
  });
});

describe('taskforge CLI without a stack', () => {
  it('an unreachable URL is one line, exit 3', async () => {
    // A port that was just free: bound on port 0, then closed.
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    const r = await runCli(['ls', 'functions', '--url', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(EXIT.unreachable);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error NETWORK_ERROR: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)\n`);
  });

  it('usage mistakes are one line, exit 2', async () => {
    for (const args of [['deploy'], ['bogus'], ['invoke', 'f', '--bogus'], ['deploy', 'x.js', '--timeout', 'abc'], ['--url', 'ftp://x', 'workers']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(EXIT.usage);
      expect(r.stderr, args.join(' ')).toMatch(/^error USAGE: [^\n]+\n$/);
    }
  });

  it.each([
    ['deploy'],
    ['invoke'],
    ['get'],
    ['logs'],
    ['ls'],
    ['cancel'],
    ['rm'],
    ['workers'],
    ['stats'],
    ['keys'],
    ['keys', 'create'],
    ['keys', 'ls'],
    ['keys', 'rm'],
    ['events'],
  ])('%s --help', async (...cmd) => {
    const r = await runCli([...cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: taskforge ${cmd.join(' ')}`);
    expect(r.stdout).toContain('--json');
  });

  it.each([['dev'], ['scheduler'], ['gateway'], ['worker'], ['pool']])('%s --help lists the component flags', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`usage: taskforge ${cmd} [flags]`);
    expect(r.stdout).toContain('--log-format');
  });

  it('--help and --version at the top', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['deploy', 'invoke', 'logs', 'events', 'keys', 'dev', 'worker', 'pool']) expect(help.stdout).toContain(`  ${c} `);
    expect(help.stdout).toContain('Exit codes:');
    const v = await runCli(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });
});
