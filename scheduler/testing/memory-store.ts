/**
 * An in-memory Store for scheduler unit tests only: it records which writes were durable and
 * can be told to fail them. The product always runs on the file store.
 */
import { TaskForgeError } from '../../common/errors.js';
import type { Execution, ExecutionLogs } from '../../common/records.js';
import type { WorkflowDefinition, WorkflowRun } from '../../common/workflows.js';
import type { LoadedState, LoadedWorkflows, Store, StoredFunction } from '../store/types.js';

export class MemoryStore implements Store {
  readonly functions = new Map<string, StoredFunction>();
  readonly executions = new Map<string, Execution>();
  readonly logs = new Map<string, ExecutionLogs>();
  readonly durableIds: string[] = [];
  groupWrites = 0;
  failDurable: string | null = null;

  readonly workflows = new Map<string, WorkflowDefinition>();
  readonly runs = new Map<string, WorkflowRun>();
  /** Every durable run write, in order (a test reads what was durable when). */
  readonly runWrites: WorkflowRun[] = [];

  constructor(
    private readonly initial: Partial<LoadedState> = {},
    private readonly initialWorkflows: Partial<LoadedWorkflows> = {},
  ) {}

  async open(): Promise<LoadedState> {
    return { functions: this.initial.functions ?? [], executions: this.initial.executions ?? [], quarantined: [], sweptTempFiles: 0 };
  }
  async putFunction(fn: StoredFunction): Promise<void> {
    this.functions.set(fn.name, structuredClone(fn));
  }
  async deleteFunction(name: string): Promise<void> {
    this.functions.delete(name);
  }
  async putExecutionDurable(e: Execution): Promise<void> {
    if (this.failDurable)
      throw new TaskForgeError('STORAGE_UNAVAILABLE', `storage is unavailable: ${this.failDurable}`, { reason: 'storage', code: this.failDurable });
    this.durableIds.push(e.id);
    this.executions.set(e.id, structuredClone(e));
  }
  /** Durable commits of several records (putExecutionsDurable), each as its list of ids. */
  readonly durableBatches: string[][] = [];
  async putExecutionsDurable(list: readonly Execution[]): Promise<void> {
    if (this.failDurable)
      throw new TaskForgeError('STORAGE_UNAVAILABLE', `storage is unavailable: ${this.failDurable}`, { reason: 'storage', code: this.failDurable });
    this.durableBatches.push(list.map((e) => e.id));
    for (const e of list) {
      this.durableIds.push(e.id);
      this.executions.set(e.id, structuredClone(e));
    }
  }
  putExecution(e: Execution): void {
    this.groupWrites += 1;
    this.executions.set(e.id, structuredClone(e));
  }
  async deleteExecution(id: string): Promise<void> {
    this.executions.delete(id);
    this.logs.delete(id);
  }
  putLogs(logs: ExecutionLogs): void {
    this.logs.set(logs.executionId, structuredClone(logs));
  }
  async getLogs(id: string): Promise<ExecutionLogs | null> {
    return this.logs.get(id) ?? null;
  }
  async loadWorkflows(): Promise<LoadedWorkflows> {
    return { workflows: this.initialWorkflows.workflows ?? [], runs: this.initialWorkflows.runs ?? [] };
  }
  async putWorkflow(wf: WorkflowDefinition): Promise<void> {
    this.workflows.set(wf.name, structuredClone(wf));
  }
  async deleteWorkflow(name: string): Promise<void> {
    this.workflows.delete(name);
  }
  async putWorkflowRun(run: WorkflowRun): Promise<void> {
    if (this.failDurable)
      throw new TaskForgeError('STORAGE_UNAVAILABLE', `storage is unavailable: ${this.failDurable}`, { reason: 'storage', code: this.failDurable });
    this.runWrites.push(structuredClone(run));
    this.runs.set(run.id, structuredClone(run));
  }
  async deleteWorkflowRun(id: string): Promise<void> {
    this.runs.delete(id);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
