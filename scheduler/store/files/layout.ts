/**
 * Where each record lives under the data directory. This is the only place that turns a name or
 * an id into a path, and it validates first: a bad name throws INVALID_NAME before any path
 * exists, so it can never reach the file system.
 */
import { join, sep } from 'node:path';
import { assertExecutionId, assertFunctionName } from '../../../common/names.js';

export const LAYOUT_DIRS = ['functions', 'executions', 'logs', 'quarantine', 'journal'] as const;
export type LayoutDir = (typeof LAYOUT_DIRS)[number];

export const RECORD_EXT = '.json';
export const SEGMENT_EXT = '.log';
/** Digits of a journal segment number in its file name, so names sort in segment order. */
const SEGMENT_DIGITS = 12;

export interface Layout {
  readonly root: string;
  dir(which: LayoutDir): string;
  functionFile(name: string): string;
  executionFile(id: string): string;
  logsFile(id: string): string;
  /** `journal/<number>.log`, the number zero-padded. */
  segmentFile(segment: number): string;
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
    // Concatenated, not joined: a valid id has no separator or dot segment to normalise, and
    // join() was ~2 % of the scheduler's main thread under load (one call per record write).
    executionFile(id) {
      assertExecutionId(id);
      return `${dirs.executions}${sep}${id}${RECORD_EXT}`;
    },
    logsFile(id) {
      assertExecutionId(id);
      return `${dirs.logs}${sep}${id}${RECORD_EXT}`;
    },
    segmentFile(segment) {
      if (!Number.isSafeInteger(segment) || segment < 0) throw new RangeError(`bad journal segment number: ${segment}`);
      return join(dirs.journal, String(segment).padStart(SEGMENT_DIGITS, '0') + SEGMENT_EXT);
    },
  };
}

/** The record key of a file name (`abc.json` → `abc`), or null when it is not a record file. */
export function recordKey(fileName: string): string | null {
  return fileName.endsWith(RECORD_EXT) ? fileName.slice(0, -RECORD_EXT.length) : null;
}

/** The segment number of a journal file name (`000000000007.log` → 7), or null for any other name. */
export function segmentNumber(fileName: string): number | null {
  if (!fileName.endsWith(SEGMENT_EXT)) return null;
  const digits = fileName.slice(0, -SEGMENT_EXT.length);
  if (!/^[0-9]{1,15}$/.test(digits)) return null;
  return Number(digits);
}
