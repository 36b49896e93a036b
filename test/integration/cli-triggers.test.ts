/**
 * `taskforge deploy --topic/--cron/--trigger`, `taskforge publish` and `taskforge triggers`,
 * the built command against a real stack.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { runCli, type CliRunOptions } from '../helpers/cli.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let dir: string;
let opts: CliRunOptions;
const cli = (...args: string[]) => runCli(args, opts);

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  dir = await mkdtemp(join(tmpdir(), 'taskforge-cli-triggers-'));
  opts = { env: { TASKFORGE_URL: stack.url, TASKFORGE_API_KEY: stack.adminKey } };
  await writeFile(join(dir, 'audit.mjs'), 'export default async (e) => ({ audited: e })');
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('taskforge publish and triggers', () => {
  it('deploys a subscriber and a schedule, publishes to it, and lists both triggers', async () => {
    const deployed = await cli(
      'deploy',
      join(dir, 'audit.mjs'),
      '--topic',
      'orders.created',
      '--cron',
      '0 3 * * *',
      '--trigger',
      '{"type":"topic","topic":"orders.paid","filter":{"currency":"EUR"}}',
    );
    expect(deployed).toMatchObject({ code: EXIT.ok, stdout: 'deployed audit version 1\n' });
    const info = await stack.request('GET', '/v1/functions/audit');
    expect(info.body.triggers).toMatchObject([
      { type: 'topic', topic: 'orders.created' },
      { type: 'cron', schedule: '0 3 * * *', nextAt: expect.stringMatching(/T03:00:00.000Z$/) },
      { type: 'topic', topic: 'orders.paid', filter: { currency: 'EUR' } },
    ]);

    const published = await cli('publish', 'orders.created', '-d', '{"id":7}', '--json');
    expect(published.code).toBe(EXIT.ok);
    const r = JSON.parse(published.stdout) as { eventId: string; executions: Array<{ function: string; executionId: string }> };
    expect(r.executions.map((e) => e.function)).toEqual(['audit']);
    const done = await stack.request('GET', `/v1/executions/${r.executions[0]!.executionId}?waitMs=10000`);
    expect(done.body).toMatchObject({ status: 'succeeded', output: { audited: { id: 7 } }, trigger: { type: 'topic', eventId: r.eventId } });

    const human = await cli('publish', 'orders.paid', '-d', '{"currency":"USD"}');
    expect(human).toMatchObject({ code: EXIT.ok, stdout: '' });
    expect(human.stderr).toMatch(/^event evt_\w+: 0 executions\n$/);

    const ce = await cli('publish', 'orders.created', '--cloudevent', '-d', '{"specversion":"1.0","type":"t","source":"/s"}');
    expect(ce.code).toBe(EXIT.error);
    expect(ce.stderr).toContain('VALIDATION_ERROR');
    expect(ce.stderr).toContain('body.id');

    const list = await cli('triggers');
    expect(list.code).toBe(EXIT.ok);
    expect(list.stdout).toMatch(/^FUNCTION\s+TYPE\s+TOPIC \/ SCHEDULE\s+FILTER \/ TIMEZONE\s+NEXT/);
    expect(list.stdout).toMatch(/audit\s+cron\s+0 3 \* \* \*\s+UTC\s+\d{4}-\d\d-\d\d 03:00:00/);
    expect(list.stdout).toContain('{"currency":"EUR"}');
    const one = await cli('triggers', 'audit', '--json');
    expect((JSON.parse(one.stdout) as { triggers: unknown[] }).triggers).toHaveLength(3);
  });

  it('a --trigger that is not JSON is a usage error', async () => {
    const r = await cli('deploy', join(dir, 'audit.mjs'), '--trigger', '{nope');
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain('--trigger takes a trigger as JSON');
  });
});
