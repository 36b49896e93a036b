import { afterEach, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../common/json-depth.js';
import type { Execution } from '../../common/records.js';
import { createHarness, executes, flushMicrotasks, type Harness } from '../testing/harness.js';
import { MemoryStore } from '../testing/memory-store.js';
import { RUN_IDEMPOTENCY_WINDOW_MS, stepKey } from './engine.js';

const CODE = 'export default async (e) => e';
let h: Harness | undefined;
afterEach(() => h?.close());

const result = (id: string, lease: string, output: unknown, ok = true) => ({
  executionId: id,
  lease,
  ok,
  outputJson: ok ? JSON.stringify(output) : '',
  error: ok ? undefined : { code: 'FUNCTION_ERROR', message: 'boom', name: 'Error', stack: '', detailsJson: '' },
  durationMs: 3,
  initMs: 0,
  coldStart: false,
  startedAtMs: Date.now(),
  finishedAtMs: Date.now(),
  cpuMs: 0,
});

const DIAMOND = {
  steps: [
    { id: 'a', function: 'f', input: { n: '$.input.n' } },
    { id: 'b', function: 'f', needs: ['a'], input: { fromA: '$.steps.a.output.n', tag: 'b' } },
    { id: 'c', function: 'f', needs: ['a'], input: { fromA: '$.steps.a.output.n', tag: 'c' } },
    { id: 'd', function: 'f', needs: ['b', 'c'], input: ['$.steps.b.output.tag', '$.steps.c.output.tag'] },
  ],
};

async function setup(store?: MemoryStore): Promise<Harness> {
  h = createHarness({ ...(store && { store }) });
  await h.functions.put('f', { code: CODE, maxRetries: 0 }, false);
  await h.workflows.load({ workflows: [], runs: [] });
  return h;
}

/** Answers every Execute sent so far that was not answered yet, with its input as output. */
function answerAll(hh: Harness, conn: ReturnType<Harness['connect']>, answered: Set<string>, ok = true): string[] {
  const done: string[] = [];
  for (const ex of executes(conn.sent)) {
    if (answered.has(ex.executionId)) continue;
    answered.add(ex.executionId);
    hh.dispatcher.onResult(conn.worker, result(ex.executionId, ex.lease, JSON.parse(ex.inputJson), ok));
    done.push(ex.executionId);
  }
  return done;
}

describe('workflow engine', () => {
  it('a run is durable with its first step queued before that step has an execution, and both before start resolves', async () => {
    const hh = await setup();
    await hh.workflows.define('w', DIAMOND);
    const seenAtDurable: number[] = [];
    const put = hh.store.putExecutionDurable.bind(hh.store);
    hh.store.putExecutionDurable = async (e: Execution) => {
      seenAtDurable.push(hh.store.runWrites.length);
      await put(e);
    };
    const run = await hh.workflows.start('w', '{"n":4}');
    expect(hh.store.runWrites[0]!.steps.a).toEqual({ status: 'queued', executionId: null });
    expect(seenAtDurable).toEqual([1]);
    const last = hh.store.runWrites[hh.store.runWrites.length - 1]!;
    expect(last.steps.a!.executionId).toBe(run.steps.a!.executionId);
    const a = hh.state.index.get(run.steps.a!.executionId!)!;
    expect(a).toMatchObject({ input: { n: 4 }, idempotencyKey: stepKey(run.id, 'a'), trigger: { type: 'workflow', runId: run.id, step: 'a' } });
    expect(hh.store.durableIds).toEqual([a.id]);
  });

  it('advances from execution ends: b and c together, d after both, the output of the sink', async () => {
    const hh = await setup();
    await hh.workflows.define('w', DIAMOND);
    const conn = hh.connect('w_1', 4);
    const answered = new Set<string>();
    const { id } = await hh.workflows.start('w', '{"n":4}');
    await flushMicrotasks();
    const [aId] = answerAll(hh, conn, answered);
    await flushMicrotasks();
    await flushMicrotasks();
    // a's end was made durable (a second durable write of it) before b and c were created.
    const durable = hh.store.durableIds;
    expect(durable.filter((id) => id === aId)).toHaveLength(2);
    expect(durable.lastIndexOf(aId!)).toBeLessThan(durable.length - 2);
    const second = executes(conn.sent).filter((e) => !answered.has(e.executionId));
    expect(second.map((e) => JSON.parse(e.inputJson))).toEqual([
      { fromA: 4, tag: 'b' },
      { fromA: 4, tag: 'c' },
    ]);
    expect(answerAll(hh, conn, answered)).toHaveLength(2);
    await flushMicrotasks();
    await flushMicrotasks();
    expect(answerAll(hh, conn, answered)).toHaveLength(1);
    await flushMicrotasks();
    await flushMicrotasks();
    expect(hh.workflows.getRun(id)).toMatchObject({ status: 'succeeded', output: { d: ['b', 'c'] } });
  });

  it('a failed step fails the run; its dependents never get an execution', async () => {
    const hh = await setup();
    await hh.workflows.define('w', DIAMOND);
    const conn = hh.connect('w_1', 4);
    const { id } = await hh.workflows.start('w', '{"n":1}');
    await flushMicrotasks();
    answerAll(hh, conn, new Set(), false);
    await flushMicrotasks();
    await flushMicrotasks();
    const run = hh.workflows.getRun(id);
    expect(run).toMatchObject({ status: 'failed', failedStep: 'a' });
    expect(run.steps.a!.error).toEqual({ code: 'FUNCTION_ERROR', message: 'boom' });
    expect([run.steps.b!.status, run.steps.d!.status]).toEqual(['skipped', 'skipped']);
    expect(executes(conn.sent)).toHaveLength(1);
  });

  it('a step that cannot start (its function is gone) fails the run with START_FAILED', async () => {
    const hh = await setup();
    await hh.workflows.define('w', { steps: [{ id: 'a', function: 'f' }] });
    await hh.functions.delete('f');
    const run = await hh.workflows.start('w', '');
    expect(run).toMatchObject({ status: 'failed', failedStep: 'a', input: null });
    expect(run.steps.a!.error).toMatchObject({ code: 'START_FAILED', message: expect.stringContaining("function 'f' does not exist") });
  });

  it('a start that cannot be made durable is refused and forgotten', async () => {
    const hh = await setup();
    await hh.workflows.define('w', DIAMOND);
    hh.store.failDurable = 'ENOSPC';
    await expect(hh.workflows.start('w', '{}')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(hh.workflows.listRuns({ limit: 10 }).runs).toEqual([]);
  });

  it('refuses bad input and unknown names', async () => {
    const hh = await setup();
    await hh.workflows.define('w', DIAMOND);
    await expect(hh.workflows.start('w', '{')).rejects.toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'invalid_json' } });
    await expect(hh.workflows.start('w', '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1))).rejects.toMatchObject({
      details: { reason: 'too_deep' },
    });
    await expect(hh.workflows.start('nope', '{}')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(() => hh.workflows.getRun('wr_none')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => hh.workflows.get('Bad Name')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    await expect(hh.workflows.delete('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(hh.workflows.cancel('wr_none')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('lists runs newest first, a page at a time, filtered by workflow and by functions', async () => {
    let t = Date.parse('2026-01-01T00:00:00.000Z');
    h = createHarness({ now: () => (t += 1000) });
    await h.functions.put('f', { code: CODE }, false);
    await h.functions.put('g', { code: CODE }, false);
    await h.workflows.load({ workflows: [], runs: [] });
    await h.workflows.define('w', { steps: [{ id: 'a', function: 'f' }] });
    await h.workflows.define('v', { steps: [{ id: 'a', function: 'g' }] });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await h.workflows.start('w', String(i))).id);
    const other = (await h.workflows.start('v', '0')).id;
    const first = h.workflows.listRuns({ workflow: 'w', limit: 2 });
    expect(first.runs.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const next = h.workflows.listRuns({ workflow: 'w', limit: 2, cursor: first.nextCursor! });
    expect(next).toEqual({ runs: [h.workflows.getRun(ids[0]!)], nextCursor: null });
    expect(h.workflows.listRuns({ limit: 10, functions: new Set(['g']) }).runs.map((r) => r.id)).toEqual([other]);
    expect(() => h!.workflows.listRuns({ limit: 1, cursor: 'bm9wZQ' })).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
    expect(h.workflows.list().map((w) => w.name)).toEqual(['v', 'w']);
  });

  it('after a restart, a step whose execution exists is not started again; one decided but not created is', async () => {
    const before = await setup();
    await before.workflows.define('w', DIAMOND);
    const conn = before.connect('w_1', 4);
    const { id } = await before.workflows.start('w', '{"n":2}');
    await flushMicrotasks();
    answerAll(before, conn, new Set());
    await flushMicrotasks();
    await flushMicrotasks();
    // b and c exist now. Simulate the crash after b's execution but before the run recorded it,
    // and c decided (queued) but never created.
    const stored = structuredClone(before.store.runs.get(id)!);
    const executions = [...before.store.executions.values()].filter((e) => e.trigger?.type !== 'workflow' || e.trigger.step !== 'c');
    const b = executions.find((e) => e.trigger?.type === 'workflow' && e.trigger.step === 'b')!;
    stored.steps.b = { status: 'pending', executionId: null };
    stored.steps.c = { status: 'queued', executionId: null };
    const functions = [...before.store.functions.values()];
    before.close();
    h = undefined;

    const store = new MemoryStore({ functions, executions }, { workflows: [...before.store.workflows.values()], runs: [stored] });
    h = createHarness({ store });
    const loaded = await store.open();
    h.functions.load(loaded.functions);
    h.state.index.load(loaded.executions);
    h.dispatcher.recover(loaded.executions);
    await h.workflows.load(await store.loadWorkflows());
    const run = h.workflows.getRun(id);
    expect(run.steps.b).toEqual({ status: 'queued', executionId: b.id });
    expect(run.steps.c!.executionId).not.toBeNull();
    const perStep = [...h.state.index.values()].filter((e) => e.trigger?.type === 'workflow').map((e) => (e.trigger as { step: string }).step);
    expect(perStep.sort()).toEqual(['a', 'b', 'c']);
  });

  it('an idempotency key answers the first run (also while it is being started, and after a restart); another input is refused', async () => {
    let t = Date.parse('2026-01-01T00:00:00.000Z');
    h = createHarness({ now: () => t });
    await h.functions.put('f', { code: CODE }, false);
    await h.workflows.load({ workflows: [], runs: [] });
    await h.workflows.define('w', DIAMOND);
    const [first, concurrent] = await Promise.all([h.workflows.startKeyed('w', '{"n":1}', 'k'), h.workflows.startKeyed('w', '{"n":1}', 'k')]);
    expect(first.created).toBe(true);
    expect(concurrent).toEqual({ run: first.run, created: false });
    expect(await h.workflows.startKeyed('w', '{ "n": 1 }', 'k')).toMatchObject({ run: { id: first.run.id }, created: false });
    await expect(h.workflows.startKeyed('w', '{"n":2}', 'k')).rejects.toMatchObject({
      code: 'IDEMPOTENCY_MISMATCH',
      details: { field: 'headers.idempotency-key' },
    });
    expect((await h.workflows.startKeyed('w', '{"n":1}', null)).created).toBe(true);
    expect(h.workflows.getRun(first.run.id).idempotencyKey).toBe('k');

    const stored = [...h.store.runs.values()];
    const functions = [...h.store.functions.values()];
    const workflows = [...h.store.workflows.values()];
    h.close();
    const store = new MemoryStore({ functions }, { workflows, runs: stored });
    h = createHarness({ store, now: () => t });
    h.functions.load((await store.open()).functions);
    await h.workflows.load(await store.loadWorkflows());
    expect(await h.workflows.startKeyed('w', '{"n":1}', 'k')).toMatchObject({ run: { id: first.run.id }, created: false });
    // Past the window, the key starts a new run.
    t += RUN_IDEMPOTENCY_WINDOW_MS + 1;
    expect((await h.workflows.startKeyed('w', '{"n":1}', 'k')).run.id).not.toBe(first.run.id);
  });

  it('prune deletes finished runs past the retention, never running ones, and forgets their keys', async () => {
    let t = Date.parse('2026-01-01T00:00:00.000Z');
    h = createHarness({ now: () => t });
    await h.functions.put('f', { code: CODE }, false);
    await h.workflows.load({ workflows: [], runs: [] });
    await h.workflows.define('w', DIAMOND);
    const done = (await h.workflows.startKeyed('w', '1', 'k')).run;
    await h.workflows.cancel(done.id);
    const running = await h.workflows.start('w', '2');
    t += 10_000;
    expect(await h.workflows.prune(20_000)).toBe(0);
    expect(await h.workflows.prune(5_000)).toBe(1);
    expect(h.store.runs.has(done.id)).toBe(false);
    expect(() => h!.workflows.getRun(done.id)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(h.workflows.getRun(running.id).status).toBe('running');
    expect((await h.workflows.startKeyed('w', '1', 'k')).created).toBe(true);
  });

  it('cancel sends a cancel to the queued step executions', async () => {
    const hh = await setup();
    await hh.workflows.define('w', DIAMOND);
    const { id } = await hh.workflows.start('w', '{}');
    const run = await hh.workflows.cancel(id);
    expect(run.status).toBe('cancelled');
    await flushMicrotasks();
    expect(hh.state.index.get(run.steps.a!.executionId!)!.status).toBe('cancelled');
    expect(hh.workflows.getRun(id).steps.a!.status).toBe('cancelled');
    await expect(hh.workflows.cancel(id)).rejects.toMatchObject({ code: 'EXECUTION_FINISHED' });
  });
});
