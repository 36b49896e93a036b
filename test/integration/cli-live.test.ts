/**
 * The CLI's live views end to end: `taskforge events` and `taskforge logs -f` against the
 * gateway's server-sent events (docs/API-PLATFORM.md "Live views") on a real stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliRunOptions } from '../helpers/cli.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const TICK =
  'export default async (e) => { for (let i = 1; i <= (e?.n ?? 3); i++) { console.log(`step ${i}`); await new Promise((r) => setTimeout(r, 150)); } return { steps: e?.n ?? 3 } }';

let stack: Stack;
let opts: CliRunOptions;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  opts = { env: { TASKFORGE_URL: stack.url, TASKFORGE_API_KEY: stack.adminKey } };
  expect((await stack.request('PUT', '/v1/functions/tick', fn(TICK))).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

const until = async (check: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
};

/**
 * Runs `tick` until the watcher has printed a run's end: the watcher's connection opens at a
 * moment this test cannot see, so a run that ended before it was watched is simply run again.
 */
async function runWatched(watched: () => string, done: (id: string) => RegExp): Promise<{ id: string }> {
  for (let i = 0; i < 20; i++) {
    const run = await stack.request('POST', '/v1/functions/tick/invoke?mode=sync', { n: 1 });
    expect(run.status).toBe(200);
    if (await until(() => done(run.body.id).test(watched()), 1_500)) return run.body;
  }
  throw new Error(`the watcher never saw a run end:\n${watched()}`);
}

describe('live views through the CLI', () => {
  it('events --json prints each change of the function as the API sends it, until Ctrl-C (exit 0)', async () => {
    const watcher = startCli(['events', '--function', 'tick', '--json'], opts);
    const run = await runWatched(watcher.stdout, (id) => new RegExp(`"id":"${id}".*"status":"succeeded"`));
    watcher.proc.kill('SIGINT');
    const r = await watcher.done;
    expect(r.code).toBe(0);
    const all = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(all.every((c) => c.function === 'tick' && !('input' in c) && !('output' in c))).toBe(true);
    const changes = all.filter((c) => c.id === run.id);
    const { input: _i, output: _o, ...summary } = (await stack.request('GET', `/v1/executions/${run.id}`)).body;
    expect(changes.at(-1)).toEqual(summary);
  });

  it('events (text) shows one line per change', async () => {
    const watcher = startCli(['events', '--function', 'tick'], opts);
    const line = (id: string) => new RegExp(`\\d\\d:\\d\\d:\\d\\d  ${id}  tick@1  succeeded\\n`);
    const run = await runWatched(watcher.stdout, line);
    watcher.proc.kill('SIGINT');
    const r = await watcher.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(line(run.id));
  });

  it('logs -f follows a running execution to its end; --json: each line, then the final Execution', async () => {
    const accepted = await stack.request('POST', '/v1/functions/tick/invoke', { n: 4 });
    const id: string = accepted.body.executionId;
    const r = await runCli(['logs', id, '-f', '--json'], opts);
    expect(r.code).toBe(0);
    const docs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(docs.slice(0, -1).map((d) => d.message)).toEqual(['step 1', 'step 2', 'step 3', 'step 4']);
    expect(docs.slice(0, -1).every((d) => d.attempt === 1 && d.stream === 'stdout')).toBe(true);
    expect(docs.at(-1)).toEqual((await stack.request('GET', `/v1/executions/${id}`)).body);
  });

  it('logs -f of a finished execution prints its lines and how it ended', async () => {
    const run = await stack.request('POST', '/v1/functions/tick/invoke?mode=sync', { n: 2 });
    const r = await runCli(['logs', run.body.id, '-f'], opts);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stdout step 1\n.*stdout step 2\n$/);
    expect(r.stderr).toBe(`${run.body.id} succeeded\n`);
    const missing = await runCli(['logs', 'ex_missing', '-f'], opts);
    expect(missing).toMatchObject({ code: 1, stderr: "error EXECUTION_NOT_FOUND: execution 'ex_missing' does not exist\n" });
  });
});
