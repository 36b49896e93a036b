/**
 * The dashboard end to end: a real stack (scheduler, gateway with keys on, a worker process), the
 * built dashboard served by the gateway, and Chromium clicking through it as a user would.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { DESKTOP, PHONE, TICKING_CODE, UNLABELLED, launchBrowser, openDashboard, signIn, type DashboardPage, type InPage } from './browser.js';

let stack: Stack;
let browser: Browser;
let admin: DashboardPage;
const opened: DashboardPage[] = [];

const open = async (viewport = DESKTOP): Promise<DashboardPage> => {
  const d = await openDashboard(browser, stack.url, viewport);
  opened.push(d);
  return d;
};

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ workers: 1, capacity: 2 }), launchBrowser()]);
  admin = await open();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const invokeAsync = async (name: string, event: unknown): Promise<string> => {
  const r = await stack.request('POST', `/v1/functions/${name}/invoke?mode=async`, event);
  expect(r.status).toBe(202);
  return r.body.executionId as string;
};

/** Live views update within a second or two; a loaded machine gets more. */
const POLL = { timeout: 15_000, interval: 100 };

const row = (page: Page, id: string) => page.locator(`tr[data-execution="${id}"]`);

const BROKEN = `export default async (event) => {
  throw new Error('broken ' + (event?.n ?? '?'));
};
`;
/** A dead letter the scope test opens with a read key. */
let deadLetter = '';

describe('the dashboard', () => {
  it('refuses a key the gateway does not accept, and signs in with a good one kept out of the URL', async () => {
    const { page } = admin;
    await page.getByLabel('API key').fill(`tfk_AbCdEf123456_${'x'.repeat(40)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toContain('does not accept this key');

    await signIn(page, stack.adminKey);
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(nav).toEqual(['Functions', 'Deploy', 'Executions', 'Dead letters', 'Workers', 'Topics', 'Workflow runs']);
    expect(page.url()).not.toContain(stack.adminKey);
    expect(await page.evaluate(() => sessionStorage.getItem('taskforge.apiKey'))).toBe(stack.adminKey);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it('deploys a function by pasting its code, then invokes it and shows the result', async () => {
    const { page } = admin;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deploy' }).click();
    await page.getByLabel('Name').fill('ticker');
    await page.getByLabel(/^Code/).fill(TICKING_CODE);
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.getByRole('heading', { name: 'ticker' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/functions/ticker');
    expect((await stack.request('GET', '/v1/functions/ticker')).body.version).toBe(1);

    expect(await page.evaluate(UNLABELLED)).toEqual([]);
    await page.getByLabel('Input (JSON)').fill('{ "name": "e2e" }');
    await page.getByRole('button', { name: 'Invoke' }).click();
    const result = page.getByRole('status', { name: 'Invocation result' });
    await result.getByText('succeeded').waitFor();
    expect(await result.textContent()).toContain('"hello": "e2e"');

    await page.getByLabel('Input (JSON)').fill('{ not json');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toContain('not JSON');
  });

  it('shows an execution appear and finish live, without a reload', async () => {
    const { page } = admin;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Executions' }).click();
    await page.getByText('Live', { exact: true }).waitFor();
    expect(await page.evaluate(UNLABELLED)).toEqual([]);
    await page.evaluate(() => ((globalThis as unknown as InPage).marker = 1));
    const id = await invokeAsync('ticker', { ticks: 10 });
    await row(page, id).waitFor();
    await row(page, id).getByText('succeeded').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as InPage).marker)).toBe(1);
  });

  it('filters the list by status and trigger', async () => {
    const { page } = admin;
    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('No executions match these filters.').waitFor();
    expect(page.url()).toContain('status=failed');
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Trigger').selectOption('sync');
    await expect.poll(() => page.locator('tr[data-execution]').count(), POLL).toBe(1);
    await page.getByLabel('Trigger').selectOption('');
  });

  it('opens the logs of a running execution and follows them to its end', async () => {
    const { page } = admin;
    const id = await invokeAsync('ticker', { ticks: 60 });
    await row(page, id).getByRole('link', { name: id }).click();
    await page.getByRole('heading', { name: `Execution ${id}` }).waitFor();
    const logs = page.getByRole('list', { name: 'Log lines' });
    await logs.getByText('tick 2', { exact: true }).waitFor();
    // Still running while its lines arrive: the page follows, it is not a read after the end.
    expect(await page.locator('.page-head .badge').textContent()).toBe('running');
    await logs.getByText('tick 59', { exact: true }).waitFor();
    await page.locator('.page-head .badge', { hasText: 'succeeded' }).waitFor();
    expect(await page.getByText('"ticks": 60').count()).toBeGreaterThan(0);
    await page.getByRole('figure', { name: 'Timings' }).waitFor();
  });

  it('cancels a running execution', async () => {
    const { page } = admin;
    const id = await invokeAsync('ticker', { ticks: 300 });
    await page.goto(`${stack.url}/executions/${id}`);
    await page.locator('.page-head .badge', { hasText: 'running' }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.page-head .badge', { hasText: 'cancelled' }).waitFor();
    expect((await stack.request('GET', `/v1/executions/${id}`)).body.status).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
  });

  it('shows a failing async execution in Dead letters live; Retry there starts one whose trigger links back', async () => {
    const { page } = admin;
    expect((await stack.request('PUT', '/v1/functions/broken', { code: BROKEN, maxRetries: 0 })).status).toBeLessThan(300);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead letters' }).click();
    await page.getByText('Live', { exact: true }).waitFor();
    const id = await invokeAsync('broken', { n: 1 });
    await row(page, id).getByText('broken 1').waitFor();
    expect(await page.evaluate(UNLABELLED)).toEqual([]);

    await row(page, id)
      .getByRole('button', { name: `Retry ${id}` })
      .click();
    const retried = page.getByRole('status').filter({ hasText: 'Retried' }).getByRole('link');
    await retried.waitFor();
    const again = (await retried.textContent())!;
    expect(again).toMatch(/^ex_/);
    expect(again).not.toBe(id);
    await expect.poll(() => row(page, id).count(), POLL).toBe(0);
    // The retry fails too: a new dead letter, of the retry.
    await row(page, again).waitFor();

    await retried.click();
    await page.getByRole('heading', { name: `Execution ${again}` }).waitFor();
    await page.getByText('retry of').waitFor();
    await page.getByRole('link', { name: id, exact: true }).click();
    await page.getByRole('heading', { name: `Execution ${id}` }).waitFor();
    await page.locator('.page-head .badge', { hasText: 'failed' }).waitFor();

    // Retry on an execution's page moves to the new one.
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => new URL(page.url()).pathname, POLL).not.toBe(`/executions/${id}`);
    const third = new URL(page.url()).pathname.split('/')[2]!;
    await page.getByRole('heading', { name: `Execution ${third}` }).waitFor();
    expect((await stack.request('GET', `/v1/executions/${third}`)).body.trigger).toEqual({ type: 'retry', of: id });
    deadLetter = again;

    // The list's trigger filter, by what started an execution.
    await page.goto(`${stack.url}/executions?trigger=retry`);
    await row(page, third).getByText('retry').waitFor();
    await row(page, again).waitFor();
    expect(await row(page, id).count()).toBe(0);
  });

  it('says when a retry is refused, and when a function has no dead letters', async () => {
    const { page } = admin;
    expect((await stack.request('PUT', '/v1/functions/gone', { code: BROKEN, maxRetries: 0 })).status).toBeLessThan(300);
    const id = await invokeAsync('gone', { n: 2 });
    await expect.poll(async () => (await stack.request('GET', `/v1/executions/${id}`)).body.status, POLL).toBe('failed');
    await page.goto(`${stack.url}/dead-letters?function=gone`);
    await row(page, id).waitFor();
    expect((await stack.request('DELETE', '/v1/functions/gone')).status).toBeLessThan(300);
    await row(page, id)
      .getByRole('button', { name: `Retry ${id}` })
      .click();
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toContain('FUNCTION_NOT_FOUND');
    await row(page, id).waitFor();

    await page.getByLabel('Function').selectOption('ticker');
    await page.getByText('No dead letters of this function.').waitFor();
    expect(page.url()).toContain('function=ticker');
  });

  it("shows a function's circuit breaker, result cache and cron trigger with its next tick", async () => {
    const { page } = admin;
    const spec = { code: BROKEN, circuitBreaker: { failureThreshold: 3 }, cacheTtlMs: 60_000, triggers: [{ type: 'cron', schedule: '0 0 1 1 *' }] };
    const put = await stack.request('PUT', '/v1/functions/guarded', spec);
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    await page.goto(`${stack.url}/functions/guarded`);
    const circuit = page.locator('[data-circuit="closed"]');
    await circuit.waitFor();
    expect(await circuit.textContent()).toMatch(/^closedopens after 3 failures within 1 min 0 s/);
    await page.getByText('outputs reused for 1 min 0 s').waitFor();
    const cron = page.getByRole('listitem').filter({ hasText: '0 0 1 1 *' });
    expect(await cron.textContent()).toMatch(/^cron 0 0 1 1 \*, next in \d+ (d|h|min|s)$/);
  });

  it("shows a worker's load change live", async () => {
    const { page } = admin;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workers' }).click();
    const meter = page.getByRole('meter', { name: `Load of ${stack.workers[0]!.name}` });
    await expect.poll(() => meter.getAttribute('aria-valuenow'), POLL).toBe('0');
    const id = await invokeAsync('ticker', { ticks: 300 });
    await expect.poll(() => meter.getAttribute('aria-valuenow'), POLL).toBe('1');
    await page.locator(`tr[data-worker="${stack.workers[0]!.name}"]`).getByText('ticker@1').waitFor();
    await stack.request('POST', `/v1/executions/${id}/cancel`, {});
    await expect.poll(() => meter.getAttribute('aria-valuenow'), POLL).toBe('0');
  });

  it('shows a read key no deploy, invoke, cancel or retry, and a function-limited invoke key no cluster', async () => {
    const read = await stack.request('POST', '/v1/keys', { name: 'reader', scopes: ['read'] });
    const d = await open();
    await signIn(d.page, read.body.key);
    expect(await d.page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()).toEqual([
      'Functions',
      'Executions',
      'Dead letters',
      'Workers',
      'Topics',
      'Workflow runs',
    ]);
    await d.page.goto(`${stack.url}/executions/${deadLetter}`);
    await d.page.locator('.page-head .badge', { hasText: 'failed' }).waitFor();
    expect(await d.page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await d.page.goto(`${stack.url}/dead-letters`);
    await row(d.page, deadLetter).waitFor();
    expect(await d.page.getByRole('button', { name: /Retry/ }).count()).toBe(0);
    await d.page.goto(`${stack.url}/functions`);
    await d.page.getByRole('link', { name: 'ticker' }).click();
    await d.page.getByRole('heading', { name: 'Versions' }).waitFor();
    expect(await d.page.getByRole('button', { name: 'Invoke' }).count()).toBe(0);
    expect(await d.page.getByText('Deploy a new version').count()).toBe(0);
    await d.page.goto(`${stack.url}/deploy`);
    await d.page.getByText("This API key's scopes do not allow this page.").waitFor();

    const invoker = await stack.request('POST', '/v1/keys', { name: 'invoker', scopes: ['invoke'], functions: ['ticker'] });
    const e = await open();
    await signIn(e.page, invoker.body.key);
    expect(await e.page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()).toEqual([
      'Functions',
      'Executions',
      'Dead letters',
      'Topics',
      'Workflow runs',
    ]);
    await e.page.getByRole('link', { name: 'ticker' }).click();
    await e.page.getByRole('button', { name: 'Invoke' }).waitFor();
  });

  it('fits a phone screen and keeps the key across a reload of the tab', async () => {
    const d = await open(PHONE);
    await signIn(d.page, stack.adminKey);
    await d.page.goto(`${stack.url}/executions`);
    await d.page.locator('tr[data-execution]').first().waitFor();
    const overflow = await d.page.evaluate(
      () => (globalThis as unknown as InPage).document.documentElement.scrollWidth - (globalThis as unknown as InPage).innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    // Keyboard: the skip link is the first stop, the navigation next; Enter on a link opens its page and focuses its heading.
    const focused = () => d.page.evaluate(() => (globalThis as unknown as InPage).document.activeElement?.textContent);
    await d.page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await d.page.keyboard.press('Tab');
    expect(await focused()).toBe('Functions');
    await d.page.keyboard.press('Enter');
    await d.page.getByRole('heading', { name: 'Functions' }).waitFor();
    expect(new URL(d.page.url()).pathname).toBe('/functions');
    expect(await focused()).toBe('Functions');
    expect(await d.page.evaluate(() => (globalThis as unknown as InPage).document.activeElement?.tagName)).toBe('H1');
  });

  it('made no request to another host and logged no error (no CSP violation) on any page', () => {
    for (const d of opened) {
      expect(d.foreign).toEqual([]);
      // The browser logs every 4xx answer: the refused key's 401 and the scope probes' 403, 404 and 415 are expected.
      expect(d.errors.filter((e) => !/^Failed to load resource: the server responded with a status of 4(01|03|04|15)/.test(e))).toEqual([]);
    }
  });
});
