/**
 * `make screenshots`: a real stack with a few functions and executions, and each dashboard page shot
 * at 1280 px (one also at phone width) into docs/screenshots/, which docs/DASHBOARD.md and the
 * README show.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { DESKTOP, PHONE, TICKING_CODE, launchBrowser, openDashboard, signIn } from './browser.js';

const OUT = join(import.meta.dirname, '..', '..', 'docs', 'screenshots');
const HELLO_V1 = `export default async (event) => {
  return { greeting: 'hello ' + (event?.name ?? 'world') };
};
`;
const HELLO_V2 = `export default async (event, context) => {
  console.log('greeting', event?.name, 'attempt', context.attempt);
  return { greeting: 'hello ' + (event?.name ?? 'world'), version: context.version };
};
`;
const FAILS = `export default async (event) => {
  if (event?.ok) return 'fine';
  const err = new Error('the order ' + (event?.order ?? '?') + ' has no lines');
  err.code = 'E_EMPTY_ORDER';
  throw err;
};
`;

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ workers: 2, capacity: 4 }), launchBrowser()]);
  await mkdir(OUT, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const put = async (name: string, code: string, extra: Record<string, unknown> = {}): Promise<void> => {
  const r = await stack.request('PUT', `/v1/functions/${name}`, { code, ...extra });
  if (r.status >= 300) throw new Error(`deploy ${name}: ${JSON.stringify(r.body)}`);
};
const invoke = (name: string, event: unknown, mode = 'async') => stack.request('POST', `/v1/functions/${name}/invoke?mode=${mode}`, event);
const shoot = (page: Page, file: string) => page.screenshot({ path: join(OUT, file), animations: 'disabled' });
const settle = (page: Page) => page.waitForTimeout(400);

it('shoots every page', async () => {
  await put('hello', HELLO_V1, { description: 'Greets whoever it is given' });
  await put('hello', HELLO_V2, {
    description: 'Greets whoever it is given',
    timeoutMs: 5000,
    circuitBreaker: { failureThreshold: 5 },
    triggers: [{ type: 'cron', schedule: '0 9 * * 1-5', timezone: 'Europe/Paris', input: { name: 'morning' } }],
  });
  await put('ticker', TICKING_CODE, { description: 'Logs a tick every 100 ms' });
  await put('orders', FAILS, { description: 'Checks an order', maxRetries: 0 });
  const v1 = (await stack.request('GET', '/v1/functions/hello/versions')).body.versions[1];
  for (let i = 0; i < 12; i++) await invoke('hello', { name: `user ${i}` }, i % 3 === 0 ? 'sync' : 'async');
  await invoke('orders', { order: 42 }, 'sync');
  await invoke('orders', { ok: true }, 'sync');
  const dead: string[] = [];
  for (const order of [7, 8, 9]) dead.push((await invoke('orders', { order })).body.executionId as string);
  const done = await invoke('ticker', { ticks: 8, name: 'docs' }, 'sync');
  const cancelled = (await invoke('ticker', { ticks: 600 })).body.executionId as string;
  await new Promise((r) => setTimeout(r, 300));
  await stack.request('POST', `/v1/executions/${cancelled}/cancel`, {});

  const { page, context } = await openDashboard(browser, stack.url, DESKTOP);
  await page.getByLabel('API key').waitFor();
  await shoot(page, 'sign-in.png');
  await signIn(page, stack.adminKey);
  await page.evaluate(([sha, code]) => sessionStorage.setItem(`taskforge.code.${sha}`, code!), [v1.codeSha256 as string, HELLO_V1]);

  await page.getByRole('link', { name: 'hello' }).waitFor();
  await settle(page);
  await shoot(page, 'functions.png');

  await page.getByRole('link', { name: 'hello' }).click();
  await page.getByRole('heading', { name: 'Compare' }).waitFor();
  await page.getByLabel('Input (JSON)').fill('{ "name": "docs" }');
  await page.getByRole('button', { name: 'Invoke' }).click();
  await page.getByRole('status', { name: 'Invocation result' }).waitFor();
  await settle(page);
  await page.screenshot({ path: join(OUT, 'function.png'), fullPage: true, animations: 'disabled' });

  await page.goto(`${stack.url}/deploy`);
  await page.getByLabel('Name').fill('resize-image');
  await page.getByLabel('Description').fill('Answers the size a thumbnail would have');
  await settle(page);
  await shoot(page, 'deploy.png');

  const running = (await invoke('ticker', { ticks: 400 })).body.executionId as string;
  await page.goto(`${stack.url}/executions`);
  await page.locator(`tr[data-execution="${running}"]`).getByText('running').waitFor();
  await settle(page);
  await shoot(page, 'executions.png');

  await page.goto(`${stack.url}/executions/${running}`);
  await page.getByText('tick 5', { exact: true }).waitFor();
  await settle(page);
  await page.screenshot({ path: join(OUT, 'execution-running.png'), fullPage: true, animations: 'disabled' });

  await page.goto(`${stack.url}/executions/${done.body.id as string}`);
  await page.getByText('tick 7', { exact: true }).waitFor();
  await settle(page);
  await page.screenshot({ path: join(OUT, 'execution.png'), fullPage: true, animations: 'disabled' });

  await page.goto(`${stack.url}/dead-letters`);
  await page.locator(`tr[data-execution="${dead[0]!}"]`).waitFor();
  await page.getByRole('button', { name: `Retry ${dead[0]!}` }).click();
  await page.getByRole('status').filter({ hasText: 'Retried' }).waitFor();
  await settle(page);
  await shoot(page, 'dead-letters.png');

  await page.getByRole('status').filter({ hasText: 'Retried' }).getByRole('link').click();
  await page.locator('.page-head .badge', { hasText: 'failed' }).waitFor();
  await settle(page);
  await page.screenshot({ path: join(OUT, 'execution-retry.png'), fullPage: true, animations: 'disabled' });

  // Topics: two subscribers of one topic, and an event published from the page.
  await put('welcome', HELLO_V1, { triggers: [{ type: 'topic', topic: 'users.signed-up' }] });
  await put('audit', HELLO_V1, { triggers: [{ type: 'topic', topic: 'users.signed-up', filter: { plan: 'pro' } }] });
  await page.goto(`${stack.url}/topics`);
  await page.locator('tr[data-topic="users.signed-up"]').waitFor();
  await page.getByLabel('Event (JSON)').fill('{ "name": "lin", "plan": "pro" }');
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByRole('status', { name: 'Published event' }).waitFor();
  await settle(page);
  await shoot(page, 'topics.png');

  // A workflow run: a diamond, its last step still running when shot.
  await put('slow-step', 'export default async (e) => { await new Promise((r) => setTimeout(r, 8000)); return e; };');
  await stack.request('PUT', '/v1/workflows/signup', {
    steps: [
      { id: 'profile', function: 'hello', input: { name: '$.input.name' } },
      { id: 'welcome', function: 'welcome', needs: ['profile'] },
      { id: 'audit', function: 'audit', needs: ['profile'] },
      { id: 'report', function: 'slow-step', needs: ['welcome', 'audit'] },
    ],
  });
  const run = (await stack.request('POST', '/v1/workflows/signup/runs', { name: 'ada' })).body.runId as string;
  await page.goto(`${stack.url}/workflow-runs/${run}`);
  await page.locator('g.dag-node[data-step="report"][data-status="running"]').waitFor({ timeout: 20_000 });
  await settle(page);
  await shoot(page, 'workflow-run.png');

  await page.goto(`${stack.url}/workers`);
  await page.getByRole('meter').first().waitFor();
  // Some traffic while the page watches, so the charts have a few windows to draw.
  for (let round = 0; round < 4; round++) {
    await Promise.all(Array.from({ length: 6 + round * 3 }, (_, i) => invoke('hello', { name: `load ${round}.${i}` }, 'sync')));
    await page.waitForTimeout(1500);
  }
  await invoke('ticker', { ticks: 400 });
  await page.waitForTimeout(1200);
  await shoot(page, 'workers.png');
  await context.close();

  const phone = await openDashboard(browser, stack.url, PHONE);
  await signIn(phone.page, stack.adminKey);
  await phone.page.goto(`${stack.url}/executions`);
  await phone.page.locator('tr[data-execution]').first().waitFor();
  await settle(phone.page);
  await shoot(phone.page, 'executions-phone.png');
  await phone.context.close();
  await stack.request('POST', `/v1/executions/${running}/cancel`, {});
});
