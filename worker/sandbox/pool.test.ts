/**
 * The sandbox pool against real runtime processes (dist/worker/sandbox/runtime.js, built by
 * `npx tsc -p tsconfig.json`): handlers, context, warm and prewarmed reuse (logs and output caps: pool-logs.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessEvent } from './pool.js';
import { closePools, fn, req, startPool } from '../testing/sandbox-fixtures.js';
import type { RunOutcome } from './types.js';

function output(outcome: RunOutcome): unknown {
  if (!outcome.ok) throw new Error(`run failed: ${outcome.error.code} ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

const spawns = (events: ProcessEvent[]): ProcessEvent[] => events.filter((e) => e.type === 'spawned');

afterEach(closePools);

describe('handlers', () => {
  it('runs an ES module default export with the event', async () => {
    const { pool } = await startPool();
    const f = fn(`import { createHash } from 'node:crypto';
      export default async (event) => ({ doubled: event.n * 2, sha: createHash('sha256').update('a').digest('hex').slice(0, 8) });`);
    const outcome = await pool.run(req(f, { inputJson: '{"n":21}' }));
    expect(output(outcome)).toEqual({ doubled: 42, sha: 'ca978112' });
    expect(outcome).toMatchObject({ ok: true, coldStart: true, logsTruncated: false });
  });

  it('runs a named ES export', async () => {
    const { pool } = await startPool();
    const f = fn('const impl = (e) => e.length;\nexport { impl as handler };', { handler: 'handler' });
    expect(output(await pool.run(req(f, { inputJson: '[1,2,3]' })))).toBe(3);
  });

  it('runs CommonJS: module.exports function, exports.handler, and builtins through require', async () => {
    const { pool } = await startPool();
    const a = fn("const os = require('node:os');\nmodule.exports = async (e) => ({ got: e, eol: os.EOL });");
    const b = fn("exports.handler = async (e) => ({ named: true, path: require('path').join('a', 'b') });", { handler: 'handler' });
    expect(output(await pool.run(req(a, { inputJson: '"x"' })))).toEqual({ got: 'x', eol: '\n' });
    expect(output(await pool.run(req(b)))).toEqual({ named: true, path: 'a/b' });
  });

  it("falls back to an export named 'handler' when handler 'default' has no default export (ESM and CJS)", async () => {
    const { pool } = await startPool();
    const esm = fn('export const handler = async (e) => ({ esm: e });');
    const cjs = fn("exports.handler = async (e) => ({ cjs: e, sep: require('path').sep });");
    const both = fn('export default async () => "default";\nexport const handler = async () => "handler";');
    expect(output(await pool.run(req(esm, { inputJson: '1' })))).toEqual({ esm: 1 });
    expect(output(await pool.run(req(cjs, { inputJson: '2' })))).toEqual({ cjs: 2, sep: '/' });
    expect(output(await pool.run(req(both)))).toBe('default');
  });

  it('refuses to require anything but builtins, also where the check cannot see the name', async () => {
    const { pool, events } = await startPool();
    const f = fn("const name = 'lodash';\nconst _ = require(name);\nmodule.exports = () => 1;");
    const outcome = await pool.run(req(f));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject({ code: 'FUNCTION_ERROR', name: 'Error' });
    expect(outcome.error.message).toContain("Cannot find module 'lodash'");
    // A process whose load failed is never reused.
    await expect.poll(() => events.some((e) => e.type === 'exited' && e.reason === 'load_failed')).toBe(true);
  });

  it('gives ES modules a builtins-only require, as esbuild ESM bundles call it through their shim', async () => {
    const { pool } = await startPool();
    const f =
      fn(`var __require = ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, { get: (a, b) => (typeof require !== "undefined" ? require : a)[b] }) : x)(function (x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});
var fs = __require("fs");
var path = __require("node:path");
const pkg = 'lodash';
export default () => {
  let denied;
  try { __require(pkg); } catch (e) { denied = e.code + ': ' + e.message; }
  return { fs: typeof fs.readFileSync, join: path.join('a', 'b'), denied };
};`);
    expect(output(await pool.run(req(f)))).toEqual({
      fs: 'function',
      join: 'a/b',
      denied: "MODULE_NOT_FOUND: Cannot find module 'lodash': functions may require only Node.js builtin modules",
    });
  });

  it('lets CommonJS use import() of builtins, and refuses anything else with the reason', async () => {
    const { pool } = await startPool();
    const f = fn(`const name = './util.js';
exports.handler = async () => {
  const os = await import('node:os');
  const { createHash } = await import('crypto');
  let denied;
  try { await import(name); } catch (e) { denied = e.code + ': ' + e.message; }
  return { eol: os.EOL, sha: createHash('sha256').update('a').digest('hex').slice(0, 8), denied };
};`);
    expect(output(await pool.run(req(f)))).toEqual({
      eol: '\n',
      sha: 'ca978112',
      denied: "ERR_MODULE_NOT_FOUND: Cannot find module './util.js': functions may import only Node.js builtin modules",
    });
  });

  it('refuses a non-builtin import() inside an ES module with the same reason', async () => {
    const { pool } = await startPool();
    const f = fn("const name = 'lodash';\nexport default async () => { try { await import(name); } catch (e) { return e.code + ': ' + e.message; } };");
    expect(output(await pool.run(req(f)))).toBe("ERR_MODULE_NOT_FOUND: Cannot find module 'lodash': functions may import only Node.js builtin modules");
  });

  it('returns null for undefined and FUNCTION_ERROR for a value with no JSON form', async () => {
    const { pool } = await startPool();
    expect(await pool.run(req(fn('export default () => {}')))).toMatchObject({ ok: true, outputJson: 'null' });
    const outcome = await pool.run(req(fn('export default () => ({ big: 1n })')));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'FUNCTION_ERROR', name: 'TypeError' } });
    if (!outcome.ok) expect(outcome.error.message).toMatch(/^handler result is not JSON-serialisable: .*BigInt/);
  });

  it('passes the context', async () => {
    const { pool } = await startPool();
    const f = fn('export default (e, ctx) => ({ ...ctx, remaining: ctx.remainingTimeMs() });', { name: 'ctx-fn', version: 7, timeoutMs: 5000 });
    const r = req(f, { attempt: 2 });
    const out = output(await pool.run(r)) as Record<string, number | string>;
    expect(out).toMatchObject({ executionId: r.executionId, functionName: 'ctx-fn', version: 7, attempt: 2, deadline: r.deadlineMs });
    expect(out.remaining).toBeGreaterThan(0);
    expect(out.remaining).toBeLessThanOrEqual(5000);
  });

  it("passes Lambda's context names too: awsRequestId, functionVersion, memoryLimitInMB, getRemainingTimeInMillis, callbackWaitsForEmptyEventLoop", async () => {
    const { pool } = await startPool();
    const f = fn(
      `export default (e, ctx) => {
        const before = ctx.callbackWaitsForEmptyEventLoop;
        ctx.callbackWaitsForEmptyEventLoop = false;
        let frozen = false;
        try { ctx.awsRequestId = 'x'; } catch { frozen = true; }
        return { ...ctx, before, after: ctx.callbackWaitsForEmptyEventLoop, frozen, remaining: ctx.getRemainingTimeInMillis() };
      };`,
      { name: 'lambda-ctx', version: 3, memoryMb: 256, timeoutMs: 5000 },
    );
    const r = req(f);
    const out = output(await pool.run(r)) as Record<string, unknown>;
    expect(out).toMatchObject({
      awsRequestId: r.executionId,
      functionName: 'lambda-ctx',
      functionVersion: '3',
      memoryLimitInMB: '256',
      before: true,
      after: false,
      callbackWaitsForEmptyEventLoop: false,
      frozen: true,
    });
    expect(out.remaining).toBeGreaterThan(0);
    expect(out.remaining).toBeLessThanOrEqual(5000);
  });

  it('runs callback-style handlers: the result is what callback gives, a second call is ignored', async () => {
    const { pool } = await startPool();
    const ok = fn(
      'exports.handler = (event, context, callback) => { setTimeout(() => { callback(null, { got: event, id: context.awsRequestId }); callback(null, "again"); callback(new Error("late")); }, 5); };',
    );
    const r = req(ok, { inputJson: '{"a":1}' });
    expect(output(await pool.run(r))).toEqual({ got: { a: 1 }, id: r.executionId });
    // The same warm process runs the next invocation normally: the extra calls changed nothing.
    const again = await pool.run(req(ok, { inputJson: '2' }));
    expect(again).toMatchObject({ ok: true, coldStart: false });

    const err = await pool.run(req(fn('module.exports.handler = (e, c, cb) => cb(Object.assign(new TypeError("bad"), { code: "E_BAD" }));')));
    expect(err).toMatchObject({ ok: false, error: { code: 'FUNCTION_ERROR', name: 'TypeError', message: 'bad' } });
    const str = await pool.run(req(fn('exports.handler = (e, c, cb) => cb("just a string");')));
    expect(str).toMatchObject({ ok: false, error: { code: 'FUNCTION_ERROR', name: 'Error', message: 'just a string' } });
    const undef = await pool.run(req(fn('exports.handler = (e, c, cb) => cb();')));
    expect(undef).toMatchObject({ ok: true, outputJson: 'null' });
  });

  it('runs an async handler that declares a callback as promise style', async () => {
    const { pool } = await startPool();
    const f = fn('export const handler = async (event, context, callback) => { callback(null, "ignored"); return "from the promise"; };');
    expect(output(await pool.run(req(f)))).toBe('from the promise');
  });

  it('times out a callback-style handler that never calls back', async () => {
    const { pool } = await startPool();
    const f = fn('exports.handler = (event, context, callback) => { return 1; };', { timeoutMs: 300 });
    const outcome = await pool.run(req(f));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
  });

  it('keeps a thrown error’s name, message and stack, without the runtime’s frames', async () => {
    const { pool } = await startPool();
    const f = fn('class ValidationError extends Error { name = "ValidationError"; }\nexport default () => { throw new ValidationError("bad input"); };', {
      name: 'thrower',
    });
    const outcome = await pool.run(req(f));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject({ code: 'FUNCTION_ERROR', name: 'ValidationError', message: 'bad input' });
    expect(outcome.error.stack).toMatch(/^ValidationError: bad input\n\s+at default \(file:\/\/\/code\/thrower@1\.mjs:2:\d+\)$/);
    expect(outcome.error.stack).not.toContain('runtime.js');
  });

  it("keeps a thrown error's code and own enumerable fields as details, within the cap", async () => {
    const { pool } = await startPool();
    const f = fn(`import { readFileSync } from 'node:fs';
      export default (e) => {
        if (e === 'fs') readFileSync('/nope/missing');
        if (e === 'big') throw Object.assign(new Error('big'), { code: 'E_BIG', blob: 'x'.repeat(20000) });
        if (e === 'odd') { const err = new Error('odd'); err.self = err; err.n = 10n; err.ok = 1; throw err; }
        if (e === 'plain') throw new Error('plain');
        const err = new RangeError('bad input');
        err.code = 'E_VALIDATION';
        err.field = 'email';
        err.meta = { attempt: 2, tags: ['a'] };
        throw err;
      };`);
    const run = async (input: string) => {
      const outcome = await pool.run(req(f, { inputJson: JSON.stringify(input) }));
      if (outcome.ok) throw new Error('expected a failure');
      expect(outcome.error.code).toBe('FUNCTION_ERROR');
      return outcome.error.detailsJson === undefined ? undefined : (JSON.parse(outcome.error.detailsJson) as Record<string, unknown>);
    };
    expect(await run('custom')).toEqual({ code: 'E_VALIDATION', field: 'email', meta: { attempt: 2, tags: ['a'] } });
    // Node's own errors keep their code too (the permission model denies the read before ENOENT could).
    expect(await run('fs')).toMatchObject({ code: 'ERR_ACCESS_DENIED', resource: expect.stringContaining('/nope/missing') });
    expect(await run('big')).toEqual({ code: 'E_BIG', truncated: true });
    expect(await run('odd')).toEqual({ ok: 1 });
    expect(await run('plain')).toBeUndefined();
  });

  it('reports invalid code without starting a process', async () => {
    const { pool, events } = await startPool();
    const outcome = await pool.run(req(fn('export default (e => ;')));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'FUNCTION_ERROR', name: 'InvalidCode' } });
    expect(spawns(events)).toHaveLength(0);
  });

  it('fails a load whose top level throws, and never reuses that process', async () => {
    const { pool, events } = await startPool();
    const f = fn('throw new RangeError("no config");\nexport default () => 1;');
    const outcome = await pool.run(req(f));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'FUNCTION_ERROR', name: 'RangeError', message: 'no config' } });
    const again = await pool.run(req(f));
    expect(again.ok).toBe(false);
    expect(spawns(events)).toHaveLength(2);
  });
});

describe('reuse', () => {
  /** These tests tell processes apart by the pid a function reports: the host's, without a PID namespace. */
  const HOST_PIDS = { isolation: 'insecure' } as const;

  it('replaces a prewarmed process only after the cold start that took it has run', async () => {
    const { pool, events } = await startPool({ prewarm: 1 });
    const before = spawns(events).length;
    let spawnedWhileRunning = -1;
    const f = fn('export default async () => { await new Promise((r) => setTimeout(r, 20)); return 1; }');
    const outcome = await pool.run(req(f, { onStarted: () => (spawnedWhileRunning = spawns(events).length) }));
    expect(outcome).toMatchObject({ ok: true, coldStart: true });
    expect(spawnedWhileRunning).toBe(before);
    expect(spawns(events).length).toBe(before); // the outcome comes first: the fork would delay it
    await new Promise((r) => setImmediate(r));
    expect(spawns(events).length).toBe(before + 1);
    expect(spawns(events).at(-1)).toMatchObject({ prewarm: true });
  });

  it('reuses a warm process for the same version: no spawn, same pid, coldStart false', async () => {
    const { pool, events } = await startPool(HOST_PIDS);
    const f = fn('export default () => process.pid;');
    const started: Array<{ coldStart: boolean; initMs: number }> = [];
    const first = await pool.run(req(f, { onStarted: (i) => started.push(i) }));
    expect(first.coldStart).toBe(true);
    expect(spawns(events)).toHaveLength(1);
    const second = await pool.run(req(f, { onStarted: (i) => started.push(i) }));
    expect(second).toMatchObject({ coldStart: false, initMs: 0 });
    expect(output(second)).toBe(output(first));
    expect(spawns(events)).toHaveLength(1);
    expect(started.map((s) => s.coldStart)).toEqual([true, false]);
    expect(pool.stats()).toMatchObject({ processes: 1, busy: 0, warm: [`${f.name}@1`] });

    const samples: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await pool.run(req(f));
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    console.info(`warm run latency: p50 ${samples[25]!.toFixed(3)} ms, p90 ${samples[45]!.toFixed(3)} ms`);
  });

  it('loads code into a prewarmed process: coldStart true, no spawn for the run', async () => {
    const { pool, events } = await startPool({ prewarm: 1, ...HOST_PIDS });
    expect(events).toEqual([expect.objectContaining({ type: 'spawned', prewarm: true })]);
    const prewarmedPid = events[0]!.pid;
    const f = fn('export default () => process.pid;');
    let initMs = -1;
    const t = performance.now();
    const outcome = await pool.run(req(f, { onStarted: (i) => (initMs = i.initMs) }));
    const total = performance.now() - t;
    expect(outcome.coldStart).toBe(true);
    expect(output(outcome)).toBe(prewarmedPid);
    // The only spawn after the run began is the prewarm refill.
    expect(spawns(events).filter((e) => e.type === 'spawned' && !e.prewarm)).toHaveLength(0);
    console.info(`prewarmed cold start: initMs ${initMs}, run total ${total.toFixed(1)} ms`);
  });

  it('does not give a prewarmed process to a function with another memoryMb', async () => {
    const { pool, events } = await startPool({ prewarm: 1, ...HOST_PIDS });
    const prewarmedPid = events[0]!.pid;
    const t = performance.now();
    const outcome = await pool.run(req(fn('export default () => process.pid;', { memoryMb: 64 })));
    console.info(`fresh spawn cold start: run total ${(performance.now() - t).toFixed(1)} ms`);
    expect(output(outcome)).not.toBe(prewarmedPid);
    expect(spawns(events).filter((e) => e.type === 'spawned' && !e.prewarm)).toEqual([expect.objectContaining({ memoryMb: 64 })]);
  });

  it('runs concurrent invocations of one version in separate processes', async () => {
    const { pool } = await startPool(HOST_PIDS);
    const f = fn('export default async () => { await new Promise((r) => setTimeout(r, 200)); return process.pid; };');
    const [a, b] = await Promise.all([pool.run(req(f)), pool.run(req(f))]);
    expect(output(a)).not.toBe(output(b));
    expect(pool.stats()).toMatchObject({ processes: 2, warm: [`${f.name}@1`] });
  });

  it('does not reuse a warm process when the code behind name@version differs', async () => {
    const { pool } = await startPool(HOST_PIDS);
    const a = fn('export default () => ["a", process.pid];', { name: 'same' });
    const b = fn('export default () => ["b", process.pid];', { name: 'same' });
    const [, pidA] = output(await pool.run(req(a))) as [string, number];
    const [tag, pidB] = output(await pool.run(req(b))) as [string, number];
    expect(tag).toBe('b');
    expect(pidB).not.toBe(pidA);
  });
});
