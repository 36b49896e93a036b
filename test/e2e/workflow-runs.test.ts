/**
 * Workflow runs and topics in the dashboard, in Chromium against a real stack: a diamond's run
 * drawn as its DAG, each step's state changing without a reload until the run succeeds; a topic's
 * subscribers, and an event published from the page.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fn, startStack, type Stack } from '../helpers/stack.js';
import { launchBrowser, openDashboard, signIn, type DashboardPage } from './browser.js';

let stack: Stack;
let browser: Browser;
let d: DashboardPage | undefined;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack({ workers: 1, capacity: 4 }), launchBrowser()]);
}, 60_000);

afterAll(async () => {
  await d?.context.close();
  await browser?.close();
  await stack?.close();
});

const POLL = { timeout: 15_000, interval: 100 };

describe('workflow runs in the dashboard', () => {
  it('draws a run as its DAG and shows each step move to succeeded, live', async () => {
    // The last step waits, so the page is open while the run is still going.
    await stack.request('PUT', '/v1/functions/wf-step', fn('export default async (e) => ({ v: (e?.v ?? 0) + 1 });'));
    await stack.request('PUT', '/v1/functions/wf-slow', fn('export default async (e) => { await new Promise((r) => setTimeout(r, 4000)); return e; };'));
    const put = await stack.request('PUT', '/v1/workflows/diamond', {
      steps: [
        { id: 'a', function: 'wf-step' },
        { id: 'b', function: 'wf-step', needs: ['a'], input: { v: '$.steps.a.output.v' } },
        { id: 'c', function: 'wf-step', needs: ['a'], input: { v: '$.steps.a.output.v' } },
        { id: 'd', function: 'wf-slow', needs: ['b', 'c'], input: { b: '$.steps.b.output.v', c: '$.steps.c.output.v' } },
      ],
    });
    expect(put.status).toBe(201);
    const started = await stack.request('POST', '/v1/workflows/diamond/runs', { v: 1 });
    expect(started.status).toBe(202);
    const runId = started.body.runId as string;

    d = await openDashboard(browser, stack.url);
    const { page } = d;
    await signIn(page, stack.adminKey);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workflow runs' }).click();
    await page.getByRole('link', { name: runId }).click();
    await page.getByRole('heading', { name: `Workflow run ${runId}` }).waitFor();

    const node = (step: string) => page.locator(`g.dag-node[data-step="${step}"]`);
    await node('d').waitFor();
    // Columns follow the needs: a, then b and c side by side, then d.
    const x = async (step: string): Promise<number> => (await node(step).boundingBox())!.x;
    expect(await x('a')).toBeLessThan(await x('b'));
    expect(await x('b')).toBe(await x('c'));
    expect(await x('c')).toBeLessThan(await x('d'));

    // Seen before it ends, then at its end, with no reload in between.
    expect(['pending', 'queued', 'running']).toContain(await node('d').getAttribute('data-status'));
    await expect.poll(() => node('d').getAttribute('data-status'), POLL).toBe('succeeded');
    for (const step of ['a', 'b', 'c']) expect(await node(step).getAttribute('data-status')).toBe('succeeded');
    await page.getByRole('heading', { name: 'Output' }).waitFor();
    expect(await page.locator('pre').last().textContent()).toContain('"b": 3');
  });

  it('lists a topic with its subscribers and publishes an event to it from the page', async () => {
    const echo = 'export default async (e) => e;';
    await stack.request('PUT', '/v1/functions/t-welcome', fn(echo, { triggers: [{ type: 'topic', topic: 'users.signed-up' }] }));
    await stack.request('PUT', '/v1/functions/t-audit', fn(echo, { triggers: [{ type: 'topic', topic: 'users.signed-up', filter: { plan: 'pro' } }] }));
    d ??= await openDashboard(browser, stack.url);
    const { page } = d;
    if (
      !(await page
        .getByRole('navigation', { name: 'Main' })
        .isVisible()
        .catch(() => false))
    )
      await signIn(page, stack.adminKey);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Topics' }).click();
    const row = page.locator('tr[data-topic="users.signed-up"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('t-audit when {');
    expect(await row.textContent()).toContain('t-welcome');

    await page.getByLabel('Event (JSON)').fill('{ "name": "lin", "plan": "pro" }');
    await page.getByRole('button', { name: 'Publish' }).click();
    const status = page.getByRole('status', { name: 'Published event' });
    await status.waitFor();
    expect(await status.textContent()).toContain('2 executions');
    await status.getByRole('link').first().click();
    await page.getByRole('heading', { name: /^Execution/ }).waitFor();
  });

  it('diffs the code of two versions, reading the older one’s code from the API', async () => {
    await stack.request('PUT', '/v1/functions/versioned', fn("export default async () => 'one';"));
    await stack.request('PUT', '/v1/functions/versioned', fn("export default async () => 'two';"));
    // A new tab: it has seen no code of this function yet.
    const fresh = await openDashboard(browser, stack.url);
    try {
      await signIn(fresh.page, stack.adminKey);
      await fresh.page.goto(`${stack.url}/functions/versioned`);
      const diff = fresh.page.getByLabel('Code diff');
      await diff.waitFor();
      expect(await diff.locator('.del').textContent()).toContain("'one'");
      expect(await diff.locator('.ins').textContent()).toContain("'two'");
    } finally {
      await fresh.context.close();
    }
  });
});
