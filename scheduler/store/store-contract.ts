/**
 * The Store contract (types.ts) as one test suite that every backend runs: what a caller of the
 * interface may rely on, whichever store is behind it. Each backend's test file calls
 * storeContract with a way to make a fresh store on empty storage, to reopen it, to read what
 * is committed without going through the store, and to make durable writes fail.
 *
 * Test scaffolding (vitest): never imported by product code (tsconfig.json leaves it out).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Execution, ExecutionLogs, FunctionVersion } from '../../common/records.js';
import { sampleExecution, sampleFunction } from '../../common/testing/records.js';
import type { WorkflowDefinition, WorkflowRun } from '../../common/workflows.js';
import type { Store, StoredFunction } from './types.js';

export interface StoreBackend {
  /** A new store over the same storage (after close(), a reopen). */
  create(): Store;
  /** The executions as committed, read around the store (not through it). */
  committedExecutions(): Promise<Execution[]>;
  /** Makes every commit of executions fail at the storage until the returned repair is called. */
  breakCommits(): Promise<() => Promise<void>>;
  /** Removes the storage. */
  dispose(): Promise<void>;
}

const T0 = '2026-01-01T00:00:00.000Z';
const exec = (id: string, over: Partial<Execution> = {}): Execution => sampleExecution({ id, createdAt: T0, input: { id }, ...over });
const logsOf = (id: string, message: string): ExecutionLogs => ({ executionId: id, lines: [{ ts: T0, stream: 'stdout', message }], truncated: false });
const version = (name: string, v: number): FunctionVersion => ({ ...sampleFunction(name, v), code: `export default () => ${v}` });
const definition = (name: string): WorkflowDefinition => ({ name, steps: [{ id: 'a', function: 'f', needs: [] }], version: 1, createdAt: T0, updatedAt: T0 });
const run = (id: string): WorkflowRun =>
  ({
    id,
    workflow: 'w',
    workflowVersion: 1,
    status: 'running',
    input: { n: 1 },
    output: null,
    steps: { a: { status: 'pending', executionId: null } },
    failedStep: null,
    spec: definition('w').steps,
    createdAt: T0,
    updatedAt: T0,
    finishedAt: null,
  }) as unknown as WorkflowRun;
const byId = (list: Execution[]): Map<string, Execution> => new Map(list.map((e) => [e.id, e]));

export interface ContractOptions {
  /** Tests of the contract this backend is known to fail today: run as it.fails, so a fix shows. */
  knownFailures?: string[];
}

export function storeContract(name: string, makeBackend: () => Promise<StoreBackend>, opts: ContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    let backend: StoreBackend;
    let store: Store;
    const reopen = async (): Promise<Awaited<ReturnType<Store['open']>>> => {
      await store.close();
      store = backend.create();
      return store.open();
    };

    beforeEach(async () => {
      backend = await makeBackend();
      store = backend.create();
      const loaded = await store.open();
      expect(loaded).toMatchObject({ functions: [], executions: [], quarantined: [] });
    });
    afterEach(async () => {
      await store.close().catch(() => undefined);
      await backend.dispose();
    });

    it('functions: put, reopen, delete', async () => {
      const fn: StoredFunction = { name: 'hello', versions: [version('hello', 1), version('hello', 2)] };
      await store.putFunction(fn);
      await store.putFunction({ name: 'other', versions: [version('other', 1)] });
      let loaded = await reopen();
      expect(loaded.functions.find((f) => f.name === 'hello')).toEqual(fn);
      await store.deleteFunction('other');
      loaded = await reopen();
      expect(loaded.functions.map((f) => f.name)).toEqual(['hello']);
    });

    it('refuses names and ids the file layout would refuse, with INVALID_NAME', async () => {
      await expect(store.putFunction({ name: '../x', versions: [] })).rejects.toMatchObject({ code: 'INVALID_NAME' });
      await expect(store.putExecutionDurable(exec('a b'))).rejects.toMatchObject({ code: 'INVALID_NAME' });
      expect(() => store.putExecution(exec('a/b'))).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    });

    it('durable executions: one and several are there after a reopen, in order', async () => {
      await store.putExecutionDurable(exec('e1', { createdAt: '2026-01-01T00:00:02.000Z' }));
      await store.putExecutionsDurable([exec('e2', { createdAt: '2026-01-01T00:00:01.000Z' }), exec('e3', { createdAt: '2026-01-01T00:00:03.000Z' })]);
      await store.putExecutionsDurable([]);
      expect((await backend.committedExecutions()).map((e) => e.id).sort()).toEqual(['e1', 'e2', 'e3']);
      const loaded = await reopen();
      expect(loaded.executions.map((e) => e.id)).toEqual(['e2', 'e1', 'e3']);
      expect(loaded.executions[1]).toEqual(exec('e1', { createdAt: '2026-01-01T00:00:02.000Z' }));
    });

    it('keeps a record exactly: key order (the idempotency digest is taken over it) and U+0000 in strings', async () => {
      const input = { zebra: 1, apple: { y: 2, b: 3 }, nul: 'a\u0000b', long: 'x'.repeat(10), n: 1.5 };
      const e = exec('e1', { input, output: { '\u0000': 'z\u0000' } });
      await store.putExecutionDurable(e);
      store.putExecution(exec('e2', { input }));
      await store.putFunction({ name: 'hello', versions: [{ ...version('hello', 1), env: { Z: '1', A: '2' } }] });
      const loaded = await reopen();
      expect(JSON.stringify(loaded.executions.find((x) => x.id === 'e1'))).toBe(JSON.stringify(e));
      expect(JSON.stringify(loaded.executions.find((x) => x.id === 'e2')!.input)).toBe(JSON.stringify(input));
      expect(Object.keys(loaded.functions[0]!.versions[0]!.env)).toEqual(['Z', 'A']);
    });

    it('putExecutionsDurable is all or none: a failed commit rejects with STORAGE_UNAVAILABLE and leaves none', async () => {
      await store.putExecutionDurable(exec('e1'));
      const repair = await backend.breakCommits();
      const err = await store.putExecutionsDurable([exec('e2'), exec('e3'), exec('e4')]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE', statusCode: 503, details: { reason: 'storage' } });
      await repair();
      await store.flush();
      expect((await backend.committedExecutions()).map((e) => e.id)).toEqual(['e1']);
      const loaded = await reopen();
      expect(loaded.executions.map((e) => [e.id, e.status])).toEqual([['e1', 'queued']]);
      // The store works again once the storage does.
      await store.putExecutionsDurable([exec('e2'), exec('e3')]);
      expect((await backend.committedExecutions()).length).toBe(3);
    });

    const keepsPrevious = 'a failed durable put of a record already durable keeps the previous one, also after close and reopen';
    (opts.knownFailures?.includes(keepsPrevious) ? it.fails : it)(keepsPrevious, async () => {
      await store.putExecutionDurable(exec('e1'));
      const repair = await backend.breakCommits();
      await expect(store.putExecutionsDurable([exec('e1', { status: 'running' }), exec('e2')])).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      await repair();
      await store.flush();
      expect((await backend.committedExecutions()).map((e) => [e.id, e.status])).toEqual([['e1', 'queued']]);
      const loaded = await reopen();
      expect(loaded.executions.map((e) => [e.id, e.status])).toEqual([['e1', 'queued']]);
    });

    it('putExecution returns at once, coalesces, and flush() commits the newest state', async () => {
      for (const status of ['queued', 'running', 'succeeded'] as const) store.putExecution(exec('e1', { status }));
      store.putExecution(exec('e2', { status: 'failed' }));
      await store.flush();
      const committed = byId(await backend.committedExecutions());
      expect(committed.get('e1')?.status).toBe('succeeded');
      expect(committed.get('e2')?.status).toBe('failed');
      await store.flush();
    });

    it('the caller may change its object after putExecution: what was handed over is written', async () => {
      const e = exec('e1', { status: 'succeeded' });
      store.putExecution(e);
      e.status = 'failed';
      await store.flush();
      expect(byId(await backend.committedExecutions()).get('e1')?.status).toBe('succeeded');
    });

    it('a durable put is never overtaken by an earlier putExecution, nor overtakes a later one', async () => {
      store.putExecution(exec('e1', { status: 'running' }));
      await store.putExecutionDurable(exec('e1', { status: 'succeeded' }));
      await store.flush();
      expect(byId(await backend.committedExecutions()).get('e1')?.status).toBe('succeeded');

      const durable = store.putExecutionDurable(exec('e2', { status: 'queued' }));
      store.putExecution(exec('e2', { status: 'succeeded' }));
      await durable;
      await store.flush();
      expect(byId(await backend.committedExecutions()).get('e2')?.status).toBe('succeeded');
      const loaded = await reopen();
      expect(loaded.executions.map((e) => [e.id, e.status])).toEqual([
        ['e1', 'succeeded'],
        ['e2', 'succeeded'],
      ]);
    });

    it('logs: getLogs sees the newest handed over at once, and after a reopen', async () => {
      expect(await store.getLogs('e1')).toBeNull();
      store.putLogs(logsOf('e1', 'one'));
      store.putLogs(logsOf('e1', 'two'));
      expect(await store.getLogs('e1')).toEqual(logsOf('e1', 'two'));
      await store.flush();
      expect(await store.getLogs('e1')).toEqual(logsOf('e1', 'two'));
      await reopen();
      expect(await store.getLogs('e1')).toEqual(logsOf('e1', 'two'));
    });

    it('deleteExecution removes the execution and its logs', async () => {
      await store.putExecutionDurable(exec('e1', { status: 'succeeded' }));
      await store.putExecutionDurable(exec('e2', { status: 'succeeded' }));
      store.putLogs(logsOf('e1', 'bye'));
      await store.flush();
      await store.deleteExecution('e1');
      expect(await store.getLogs('e1')).toBeNull();
      const loaded = await reopen();
      expect(loaded.executions.map((e) => e.id)).toEqual(['e2']);
      expect(await store.getLogs('e1')).toBeNull();
    });

    it('workflows and runs: put, reopen, delete', async () => {
      expect(await store.loadWorkflows()).toEqual({ workflows: [], runs: [] });
      await store.putWorkflow(definition('w'));
      await store.putWorkflow(definition('v'));
      await store.putWorkflowRun(run('r1'));
      await store.putWorkflowRun({ ...run('r1'), status: 'succeeded' });
      await store.putWorkflowRun(run('r2'));
      await reopen();
      let loaded = await store.loadWorkflows();
      expect(loaded.workflows.map((w) => w.name).sort()).toEqual(['v', 'w']);
      expect(loaded.workflows.find((w) => w.name === 'w')).toEqual(definition('w'));
      expect(loaded.runs.find((r) => r.id === 'r1')).toEqual({ ...run('r1'), status: 'succeeded' });
      await store.deleteWorkflow('v');
      await store.deleteWorkflowRun('r2');
      await reopen();
      loaded = await store.loadWorkflows();
      expect(loaded.workflows.map((w) => w.name)).toEqual(['w']);
      expect(loaded.runs.map((r) => r.id)).toEqual(['r1']);
    });

    it('close flushes what was handed over, and is idempotent', async () => {
      store.putExecution(exec('e1', { status: 'succeeded' }));
      store.putLogs(logsOf('e1', 'last'));
      await Promise.all([store.close(), store.close()]);
      await store.close();
      expect(byId(await backend.committedExecutions()).get('e1')?.status).toBe('succeeded');
      const loaded = await reopen();
      expect(loaded.executions.map((e) => e.id)).toEqual(['e1']);
      expect(await store.getLogs('e1')).toEqual(logsOf('e1', 'last'));
    });
  });
}
