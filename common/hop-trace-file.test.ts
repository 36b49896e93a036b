import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channels, markHop, type HopMark } from './diagnostics.js';
import { installHopTraceFile, installHopTraceFileFromEnv, type HopTraceFile } from './hop-trace-file.js';

/** Parses a trace file the way bench/tools/hops.ts does. */
function parse(text: string): { t: number; what: string }[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const space = line.indexOf(' ');
      return { t: Number(line.slice(0, space)), what: line.slice(space + 1) };
    });
}

describe('hop trace file', () => {
  let dir: string;
  let trace: HopTraceFile | null = null;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hop-trace-'));
  });
  afterEach(async () => {
    trace?.close();
    trace = null;
    await rm(dir, { recursive: true, force: true });
  });

  it('buffers the marks published and appends them on flush, in the format hops.ts reads', async () => {
    const file = join(dir, 'trace');
    trace = installHopTraceFile(file);
    const before = performance.timeOrigin + performance.now();
    markHop('G1 gateway route');
    markHop('S1 scheduler session read');
    expect(existsSync(file)).toBe(false);
    trace.flush();
    markHop('G4 gateway onResponse');
    trace.flush();
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^(\d+\.\d{3} [GSW]\d [a-z ]+[A-Za-z]+\n){3}$/);
    const marks = parse(text);
    expect(marks.map((m) => m.what)).toEqual(['G1 gateway route', 'S1 scheduler session read', 'G4 gateway onResponse']);
    for (const m of marks) expect(m.t).toBeGreaterThanOrEqual(Math.floor(before));
  });

  it('writes each mark as `<epoch ms to the µs> <mark>`', async () => {
    const file = join(dir, 'trace');
    trace = installHopTraceFile(file);
    channels.hop.publish({ mark: 'G1 gateway route', timeMs: 1_700_000_000_000.125 });
    channels.hop.publish({ mark: 'S1 scheduler session read', timeMs: 1_700_000_000_000.375 });
    trace.flush();
    expect(await readFile(file, 'utf8')).toBe('1700000000000.125 G1 gateway route\n1700000000000.375 S1 scheduler session read\n');
  });

  it('writes on its own once 4096 marks are buffered', async () => {
    const file = join(dir, 'trace');
    trace = installHopTraceFile(file);
    for (let i = 0; i < 4095; i++) markHop('W2 worker ipc send');
    expect(existsSync(file)).toBe(false);
    markHop('W3 worker ipc receive');
    expect(parse(await readFile(file, 'utf8'))).toHaveLength(4096);
  });

  it('never throws when the file cannot be written', () => {
    trace = installHopTraceFile(join(dir, 'missing', 'trace'));
    markHop('W1 worker execute read');
    expect(() => trace?.flush()).not.toThrow();
  });

  it('stops listening once closed, after writing what it held', async () => {
    const file = join(dir, 'trace');
    trace = installHopTraceFile(file);
    markHop('W4 worker result write');
    trace.close();
    trace.close();
    expect(channels.hop.hasSubscribers).toBe(false);
    markHop('S3 scheduler result read');
    expect(parse(await readFile(file, 'utf8')).map((m) => m.what)).toEqual(['W4 worker result write' satisfies HopMark]);
  });

  it('is installed from the environment only when TASKFORGE_TRACE_FILE names a file', () => {
    expect(installHopTraceFileFromEnv({})).toBeNull();
    expect(installHopTraceFileFromEnv({ TASKFORGE_TRACE_FILE: '' })).toBeNull();
    expect(channels.hop.hasSubscribers).toBe(false);
    trace = installHopTraceFileFromEnv({ TASKFORGE_TRACE_FILE: join(dir, 'trace') });
    expect(trace?.file).toBe(join(dir, 'trace'));
    expect(channels.hop.hasSubscribers).toBe(true);
  });
});
