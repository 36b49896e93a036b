/**
 * The storage interface of the scheduler. The JSON-file store (file-store.ts) is the embedded
 * default; another backend implements this same interface without touching scheduler logic.
 *
 * Durability contract:
 * - putFunction / deleteFunction / putExecutionDurable / putExecutionsDurable resolve only once the data is durable
 *   (on disk, fsynced, directory fsynced). A rejection means nothing was acknowledged.
 * - putExecutionsDurable makes several records durable in one commit: all of them or none (a
 *   publish's executions, one per subscriber, are acknowledged together).
 * - putExecution / putLogs are group-committed: they return at once, repeated writes of the
 *   same record coalesce, and flush() resolves once everything handed over so far is durable.
 */
import type { Execution, ExecutionLogs, FunctionVersion } from '../../common/records.js';
import type { WorkflowDefinition, WorkflowRun } from '../../common/workflows.js';

/** Workflow definitions and runs as stored (one fsynced file each, like functions). */
export interface LoadedWorkflows {
  workflows: WorkflowDefinition[];
  runs: WorkflowRun[];
}

/** A function with all its immutable versions, oldest first. */
export interface StoredFunction {
  name: string;
  versions: FunctionVersion[];
}

export interface LoadedState {
  functions: StoredFunction[];
  executions: Execution[];
  /** Files that did not parse and were moved aside into quarantine/. */
  quarantined: string[];
  /** Leftover temp files removed at start. */
  sweptTempFiles: number;
}

export interface Store {
  /** Creates the layout if missing, sweeps temp files, quarantines bad files, loads everything. */
  open(): Promise<LoadedState>;
  putFunction(fn: StoredFunction): Promise<void>;
  deleteFunction(name: string): Promise<void>;
  putExecutionDurable(execution: Execution): Promise<void>;
  /** All or nothing, in one durable commit; in order. */
  putExecutionsDurable(executions: readonly Execution[]): Promise<void>;
  putExecution(execution: Execution): void;
  deleteExecution(id: string): Promise<void>;
  putLogs(logs: ExecutionLogs): void;
  getLogs(id: string): Promise<ExecutionLogs | null>;
  flush(): Promise<void>;
  /** Reads every workflow definition and run (after open). Files that do not parse are quarantined. */
  loadWorkflows(): Promise<LoadedWorkflows>;
  /** Durable when resolved, like putFunction. */
  putWorkflow(workflow: WorkflowDefinition): Promise<void>;
  deleteWorkflow(name: string): Promise<void>;
  /** Durable when resolved: a run is acknowledged (202) only after this. */
  putWorkflowRun(run: WorkflowRun): Promise<void>;
  /** Durable when resolved (a finished run past the retention). */
  deleteWorkflowRun(id: string): Promise<void>;
  /** Flushes and stops the group-commit timer. Idempotent. */
  close(): Promise<void>;
  /**
   * Stores that several schedulers share (PostgreSQL, with its leader lease): open() resolves only
   * once this scheduler leads, and `fn` is called once when it no longer does — its writes are
   * refused from then on, and it must stop serving at once.
   */
  onDeposed?(fn: (err: Error) => void): void;
}
