/**
 * The file store's workflow records: one fsynced JSON file per definition under `workflows/` and
 * per run under `workflow-runs/`, written through the record writer's durable path (temp file,
 * fsync, rename, directory fsync), so a write is durable when it resolves and never half-written.
 * A run changes a handful of times (once per step start and end), so it needs no journal.
 *
 * Paths are built only from names and ids that passed names.ts; a file that does not parse or
 * whose name does not match its record is moved to `quarantine/`, never loaded.
 */
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { assertExecutionId, assertWorkflowName, isExecutionId, isFunctionName } from '../../common/names.js';
import { WORKFLOW_RUN_STATUSES, type WorkflowDefinition, type WorkflowRun } from '../../common/workflows.js';
import { TEMP_SUFFIX } from './files/atomic-write.js';
import type { RecordWriter } from './files/record-writer.js';
import { errnoCode, type StoreFs } from './files/store-fs.js';
import type { LoadedWorkflows, Store } from './types.js';

export const WORKFLOW_DIRS = { workflows: 'workflows', runs: 'workflow-runs' } as const;

export interface WorkflowFilesOptions {
  root: string;
  fs: StoreFs;
  writer: RecordWriter;
  log: Logger;
  /** Wraps a failed write in the store's error (STORAGE_UNAVAILABLE). */
  failed: (err: unknown, ids: Record<string, string>) => Error;
}

type WorkflowFiles = Pick<Store, 'loadWorkflows' | 'putWorkflow' | 'deleteWorkflow' | 'putWorkflowRun' | 'deleteWorkflowRun'>;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkDefinition(v: unknown, key: string): boolean {
  return isObject(v) && v.name === key && isFunctionName(key) && Array.isArray(v.steps) && typeof v.version === 'number';
}

function checkRun(v: unknown, key: string): boolean {
  return (
    isObject(v) &&
    v.id === key &&
    isExecutionId(key) &&
    typeof v.workflow === 'string' &&
    (WORKFLOW_RUN_STATUSES as readonly unknown[]).includes(v.status) &&
    isObject(v.steps) &&
    Array.isArray(v.spec)
  );
}

export function createWorkflowFiles(opts: WorkflowFilesOptions): WorkflowFiles {
  const { fs, writer, log } = opts;
  const dir = (which: keyof typeof WORKFLOW_DIRS): string => join(opts.root, WORKFLOW_DIRS[which]);
  const definitionFile = (name: string): string => {
    assertWorkflowName(name);
    return join(dir('workflows'), `${name}.json`);
  };
  const runFile = (id: string): string => {
    assertExecutionId(id);
    return join(dir('runs'), `${id}.json`);
  };
  const write = async (path: string, data: string | null, ids: Record<string, string>): Promise<void> => {
    try {
      await writer.writeDurable(path, data);
    } catch (err) {
      throw opts.failed(err, ids);
    }
  };

  const quarantine = async (which: keyof typeof WORKFLOW_DIRS, file: string, reason: string): Promise<void> => {
    const target = `${WORKFLOW_DIRS[which]}.${file}.${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await fs.rename(join(dir(which), file), join(opts.root, 'quarantine', target));
      log.warn({ file: `${WORKFLOW_DIRS[which]}/${file}`, quarantinedAs: `quarantine/${target}`, reason }, 'quarantined store file');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') log.error({ file, reason, err }, 'could not quarantine store file');
    }
  };

  async function readAll<T>(which: keyof typeof WORKFLOW_DIRS, check: (v: unknown, key: string) => boolean): Promise<T[]> {
    await fs.mkdir(dir(which), { recursive: true });
    await fs.mkdir(join(opts.root, 'quarantine'), { recursive: true });
    const out: T[] = [];
    for (const file of (await fs.readdir(dir(which))).sort()) {
      // Leftovers of an interrupted atomic write: never a record.
      if (file.includes(TEMP_SUFFIX)) {
        await fs.unlink(join(dir(which), file)).catch(() => undefined);
        continue;
      }
      if (!file.endsWith('.json')) {
        await quarantine(which, file, 'bad_file_name');
        continue;
      }
      let text: string;
      try {
        text = await fs.readFile(join(dir(which), file), 'utf8');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        await quarantine(which, file, 'unreadable');
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        await quarantine(which, file, 'bad_json');
        continue;
      }
      if (!check(value, file.slice(0, -'.json'.length))) {
        await quarantine(which, file, 'bad_shape');
        continue;
      }
      out.push(value as T);
    }
    return out;
  }

  return {
    async loadWorkflows(): Promise<LoadedWorkflows> {
      const workflows = await readAll<WorkflowDefinition>('workflows', checkDefinition);
      const runs = await readAll<WorkflowRun>('runs', checkRun);
      return { workflows, runs };
    },
    putWorkflow: async (wf) => write(definitionFile(wf.name), JSON.stringify(wf, null, 2) + '\n', { workflow: wf.name }),
    deleteWorkflow: async (name) => write(definitionFile(name), null, { workflow: name }),
    putWorkflowRun: async (run) => write(runFile(run.id), JSON.stringify(run) + '\n', { runId: run.id }),
    deleteWorkflowRun: async (id) => write(runFile(id), null, { runId: id }),
  };
}
