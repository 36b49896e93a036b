/**
 * Sample records for tests: one complete, valid record of each kind, to be specialised with
 * overrides. Test-only; product code never imports this.
 */
import { FUNCTION_DEFAULTS, type Execution, type FunctionInfo } from '../records.js';

export const T0 = '2024-01-01T00:00:00.000Z';

export function sampleExecution(over: Partial<Execution> = {}): Execution {
  return {
    id: 'ex_V1StGXR8Z5jdHi6BmyTq',
    function: 'hello',
    version: 1,
    status: 'queued',
    mode: 'async',
    input: null,
    output: null,
    error: null,
    attempt: 1,
    maxAttempts: 3,
    workerId: null,
    coldStart: null,
    createdAt: T0,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    timings: null,
    placement: null,
    idempotencyKey: null,
    ...over,
  };
}

export function sampleFunction(name = 'hello', version = 1, over: Partial<FunctionInfo> = {}): FunctionInfo {
  return {
    ...FUNCTION_DEFAULTS,
    env: {},
    name,
    version,
    codeSha256: 'a'.repeat(64),
    codeBytes: 42,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}
