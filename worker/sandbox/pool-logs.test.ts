/**
 * The sandbox pool's log and output caps against real runtime processes (dist/worker/sandbox/runtime.js,
 * built by `npx tsc -p tsconfig.json`): the head and the tail of the output kept, bytes and line
 * lengths capped, output too large refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine } from '../../common/records.js';
import { closePools, fn, req, startPool } from '../testing/sandbox-fixtures.js';
import type { RunOutcome } from './types.js';

function output(outcome: RunOutcome): unknown {
  if (!outcome.ok) throw new Error(`run failed: ${outcome.error.code} ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

afterEach(closePools);

describe('logs', () => {
  it('captures console and stdout/stderr writes with stream and order', async () => {
    const { pool } = await startPool();
    const f = fn(`console.log('loading');
      export default () => {
        console.log('a', 1, { k: true });
        console.error('b');
        process.stdout.write('c\\n');
        console.info('d');
        console.warn('e');
        console.debug('f');
        process.stderr.write('g');
        return 'done';
      };`);
    const lines: LogLine[] = [];
    const outcome = await pool.run(req(f, { onLog: (l) => lines.push(...l) }));
    expect(outcome).toMatchObject({ ok: true, logsTruncated: false });
    expect(lines.map((l) => [l.stream, l.message])).toEqual([
      ['stdout', 'loading'],
      ['stdout', 'a 1 { k: true }'],
      ['stderr', 'b'],
      ['stdout', 'c'],
      ['stdout', 'd'],
      ['stderr', 'e'],
      ['stdout', 'f'],
      ['stderr', 'g'],
    ]);
    for (const l of lines) expect(new Date(l.ts).toISOString()).toBe(l.ts);
  });

  it('reports output and an unhandled rejection after the handler returned in the next execution of that process', async () => {
    const { pool, events } = await startPool();
    const f = fn(`let n = 0;
      export default () => {
        n += 1;
        if (n === 1) setTimeout(() => { console.log('late line'); Promise.reject(new Error('late boom')); }, 20);
        console.log('run', n);
        return n;
      };`);
    const first = req(f);
    expect(output(await pool.run(first))).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    const lines: LogLine[] = [];
    const second = await pool.run(req(f, { onLog: (l) => lines.push(...l) }));
    // The same process, still alive: the late rejection did not kill it.
    expect(second).toMatchObject({ ok: true, coldStart: false });
    expect(output(second)).toBe(2);
    expect(lines.map((l) => [l.stream, l.message.split('\n')[0]])).toEqual([
      ['stdout', `[after ${first.executionId}] late line`],
      ['stderr', `[after ${first.executionId}] unhandled rejection after the handler returned: Error: late boom`],
      ['stdout', 'run 2'],
    ]);
    expect(events.filter((e) => e.type === 'exited')).toHaveLength(0);
  });

  it('still fails the run on an unhandled rejection during it', async () => {
    const { pool } = await startPool();
    const f = fn('export default () => new Promise((resolve) => { Promise.reject(new Error("while running")); setTimeout(resolve, 100); });');
    expect(await pool.run(req(f))).toMatchObject({ ok: false, error: { code: 'FUNCTION_ERROR', message: 'while running' } });
  });

  it('keeps the first 500 and the last 500 of 1,500 lines, so the last line written survives', async () => {
    const { pool } = await startPool();
    const f = fn("export default () => { for (let i = 0; i < 1500; i++) console.log('line ' + i); console.error('final: boom'); return 1; };");
    const lines: LogLine[] = [];
    let lastFlag = false;
    let dropped = 0;
    const outcome = await pool.run(req(f, { onLog: (l, t, d) => (lines.push(...l), (lastFlag = t), (dropped += d)) }));
    expect(outcome).toMatchObject({ ok: true, logsTruncated: true });
    expect(lines).toHaveLength(1000);
    expect(lines[0]!.message).toBe('line 0');
    expect(lines[499]!.message).toBe('line 499');
    expect(lines[500]!.message).toBe('line 1001');
    expect(lines[999]).toMatchObject({ message: 'final: boom', stream: 'stderr' });
    expect(dropped).toBe(501);
    expect(lastFlag).toBe(true);
  });

  it('caps bytes per execution and characters per line', async () => {
    const { pool } = await startPool();
    const f = fn(`export default () => {
      console.log('x'.repeat(10000));
      for (let i = 0; i < 300; i++) console.log('y'.repeat(1024));
    };`);
    const lines: LogLine[] = [];
    const outcome = await pool.run(req(f, { onLog: (l) => lines.push(...l) }));
    expect(outcome.logsTruncated).toBe(true);
    expect(lines[0]!.message).toHaveLength(8 * 1024);
    // 8 KiB + n × 1 KiB ≤ 256 KiB
    expect(lines).toHaveLength(1 + 248);
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l.message), 0);
    expect(bytes).toBe(256 * 1024);
  });
});

describe('output cap', () => {
  it('fails an output over 1 MiB', async () => {
    const { pool } = await startPool();
    const outcome = await pool.run(req(fn("export default () => 'x'.repeat(1024 * 1024);")));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('FUNCTION_ERROR');
    expect(outcome.error.message).toMatch(/^output exceeds 1 MiB/);
  });

  it('accepts an output just under 1 MiB', async () => {
    const { pool } = await startPool();
    const outcome = await pool.run(req(fn("export default () => 'x'.repeat(1024 * 1024 - 2);")));
    expect(outcome.ok && Buffer.byteLength(outcome.outputJson)).toBe(1024 * 1024);
  });
});
