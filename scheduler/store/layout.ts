/**
 * Where each record lives under the data directory. This is the only place that turns a name or
 * an id into a path, and it validates first: a bad name throws INVALID_NAME before any path
 * exists, so it can never reach the file system.
 */
import { join } from 'node:path';
import { assertExecutionId, assertFunctionName } from '../../common/names.js';

export const LAYOUT_DIRS = ['functions', 'executions', 'logs', 'quarantine'] as const;
export type LayoutDir = (typeof LAYOUT_DIRS)[number];

export const RECORD_EXT = '.json';

export interface Layout {
  readonly root: string;
  dir(which: LayoutDir): string;
  functionFile(name: string): string;
  executionFile(id: string): string;
  logsFile(id: string): string;
}

export function createLayout(root: string): Layout {
  const dirs = Object.fromEntries(LAYOUT_DIRS.map((d) => [d, join(root, d)])) as Record<LayoutDir, string>;
  return {
    root,
    dir: (which) => dirs[which],
    functionFile(name) {
      assertFunctionName(name);
      return join(dirs.functions, name + RECORD_EXT);
    },
    executionFile(id) {
      assertExecutionId(id);
      return join(dirs.executions, id + RECORD_EXT);
    },
    logsFile(id) {
      assertExecutionId(id);
      return join(dirs.logs, id + RECORD_EXT);
    },
  };
}

/** The record key of a file name (`abc.json` → `abc`), or null when it is not a record file. */
export function recordKey(fileName: string): string | null {
  return fileName.endsWith(RECORD_EXT) ? fileName.slice(0, -RECORD_EXT.length) : null;
}
