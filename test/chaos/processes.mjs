/**
 * What the chaos scripts share (soak.mjs, triggers-soak.mjs): component processes from dist/ with
 * their readiness line, a clean stop, an HTTP call with the admin key, a seeded PRNG, a bounded
 * map. Scripts only: nothing of the product imports it.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a run's choices are reproducible from its seed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every process started, so a failed run leaves none behind. */
export const children = new Set();

/**
 * A component process; `ready` resolves with the first output line matching readyRe (a JSON log
 * line), within `timeoutMs` (Infinity: a standby scheduler, ready only once it leads).
 */
export function component(label, args, readyRe, { timeoutMs = 30_000 } = {}) {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const tail = [];
  let partial = '';
  let onReady;
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    proc.on('exit', (code, signal) => reject(new Error(`${label} exited (${code ?? signal}) before it was ready:\n${tail.join('\n')}`)));
  });
  ready.catch(() => undefined);
  const onData = (d) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 50) tail.shift();
      if (readyRe.test(line)) onReady(line);
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  return { label, proc, ready: timeoutMs === Infinity ? ready : withTimeout(ready, timeoutMs, `${label} not ready`), exited, tail };
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

export async function stop(c, graceMs = 40_000) {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGTERM');
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), graceMs);
  await c.exited;
  clearTimeout(timer);
}

/** An HTTP call with `apiKey` and a JSON body; no answer at all is status 0. `headers` may set the content-type. */
export function createHttp(apiKey) {
  return async function http(base, method, path, body, extraHeaders = {}) {
    const headers = { authorization: `Bearer ${apiKey}` };
    const init = { method, headers };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, extraHeaders);
    try {
      const res = await fetch(`${base}${path}`, init);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    } catch (err) {
      return { status: 0, body: null, err };
    }
  };
}

export async function mapLimit(items, limit, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}
