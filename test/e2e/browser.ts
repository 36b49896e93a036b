/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core (`make
 * browser-deps` installs it), against a real stack (test/helpers/stack.ts) whose gateway serves
 * dist/web/ (`make build`). Every page records what the dashboard must never do: ask another host
 * for anything, or log an error (a CSP violation is one).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const WEB_INDEX = join(import.meta.dirname, '..', '..', 'dist', 'web', 'index.html');

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

/**
 * The page's globals that the tests' in-page callbacks read (`page.evaluate(() => …)` runs in the
 * browser; test code is type-checked without the DOM's types). Cast `globalThis` to it inside the callback.
 */
export interface InPage {
  marker?: number;
  innerWidth: number;
  document: { documentElement: { scrollWidth: number }; activeElement: { textContent: string | null; tagName: string } | null };
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`make browser-deps\` (make test does it) before the dashboard's tests`);
  if (!existsSync(WEB_INDEX)) throw new Error('dist/web/ is missing: run `make build` (make test does it) before the dashboard tests');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** Requests to any other origin than the gateway's. */
  foreign: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
}

export async function openDashboard(browser: Browser, url: string, viewport = DESKTOP): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, reducedMotion: 'reduce', colorScheme: 'light' });
  const page = await context.newPage();
  const origin = new URL(url).origin;
  const foreign: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:')) foreign.push(u);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url + '/');
  return { context, page, foreign, errors };
}

/** Signs in on the sign-in page with `key`; resolves once the navigation shows. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/**
 * The form controls of the page that have no accessible name (no label, no aria-label, a button
 * without text), as the start of their HTML. A string, evaluated in the page.
 */
export const UNLABELLED = `[...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
  .map((el) => el.outerHTML.slice(0, 100))`;

/** A function that logs a line every 100 ms for `event.ticks` ticks, then answers. */
export const TICKING_CODE = `export default async (event, context) => {
  console.log('start', context.executionId);
  const ticks = event?.ticks ?? 0;
  for (let i = 0; i < ticks; i++) {
    console.log('tick ' + i);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { hello: event?.name ?? 'world', ticks };
};
`;
