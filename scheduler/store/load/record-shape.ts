/**
 * The basic shape checks a file must pass to be loaded at start. They catch truncated, hand-edited
 * or misplaced files (an execution whose id is not its file name), not every field: the store
 * must never hand the scheduler a record whose identity or status it cannot trust.
 */
import { EXECUTION_STATUSES } from '../../../common/records.js';
import { isExecutionId, isFunctionName } from '../../../common/names.js';

/** Why a file was quarantined: a small fixed vocabulary, so log lines can be counted. */
export const QUARANTINE_REASON = {
  badFileName: 'bad_file_name',
  unreadable: 'unreadable',
  badJson: 'bad_json',
  badShape: 'bad_shape',
  idMismatch: 'id_mismatch',
  badStatus: 'bad_status',
} as const;
export type QuarantineReason = (typeof QUARANTINE_REASON)[keyof typeof QUARANTINE_REASON];

const STATUSES: ReadonlySet<string> = new Set(EXECUTION_STATUSES);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkExecution(value: unknown, expectedId: string): QuarantineReason | null {
  if (!isObject(value)) return QUARANTINE_REASON.badShape;
  if (value.id !== expectedId || !isExecutionId(value.id)) return QUARANTINE_REASON.idMismatch;
  if (typeof value.status !== 'string' || !STATUSES.has(value.status)) return QUARANTINE_REASON.badStatus;
  if (!isFunctionName(value.function) || typeof value.version !== 'number' || typeof value.createdAt !== 'string') {
    return QUARANTINE_REASON.badShape;
  }
  return null;
}

export function checkFunction(value: unknown, expectedName: string): QuarantineReason | null {
  if (!isObject(value)) return QUARANTINE_REASON.badShape;
  if (value.name !== expectedName || !isFunctionName(value.name)) return QUARANTINE_REASON.idMismatch;
  const versions = value.versions;
  if (!Array.isArray(versions) || versions.length === 0) return QUARANTINE_REASON.badShape;
  for (const v of versions) {
    if (!isObject(v) || v.name !== expectedName || typeof v.version !== 'number' || typeof v.code !== 'string') {
      return QUARANTINE_REASON.badShape;
    }
  }
  return null;
}

export function checkLogs(value: unknown, expectedId: string): QuarantineReason | null {
  if (!isObject(value)) return QUARANTINE_REASON.badShape;
  if (value.executionId !== expectedId) return QUARANTINE_REASON.idMismatch;
  if (!Array.isArray(value.lines) || typeof value.truncated !== 'boolean') return QUARANTINE_REASON.badShape;
  return null;
}
