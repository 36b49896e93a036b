import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, retryCeilingMs, retryDelayMs } from './retry-policy.js';

describe('retry policy', () => {
  const p = { baseMs: 1000, capMs: 5000 };
  it('doubles the ceiling per attempt up to the cap', () => {
    expect([2, 3, 4, 5, 6].map((n) => retryCeilingMs(p, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
  it('draws the delay uniformly under the ceiling (full jitter)', () => {
    expect(retryDelayMs(p, 3, () => 0)).toBe(0);
    expect(retryDelayMs(p, 3, () => 0.5)).toBe(1000);
    expect(retryDelayMs(p, 3, () => 0.999999)).toBe(2000);
  });
  it('documents its defaults', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ baseMs: 1000, capMs: 60000 });
  });
});

import type { AttemptRecord, ExecutionErrorCode, InvokeMode } from '../../common/records.js';
import { POISON_CRASHES, decideRetry, poisonMessage, type AttemptEnd, type RetryDecision } from './retry-policy.js';

/** The attempts of a record whose attempts ended with `codes`, the last one being the one just ended. */
const history = (codes: (ExecutionErrorCode | null)[]): AttemptRecord[] =>
  codes.map((errorCode, i) => ({ attempt: i + 1, workerId: 'w', startedAt: 't', finishedAt: 't', errorCode }));

interface Row {
  name: string;
  mode: InvokeMode;
  /** Error codes of every attempt so far, the one just ended last. */
  codes: ExecutionErrorCode[];
  maxAttempts: number;
  crashes: number;
  end: AttemptEnd;
  want: RetryDecision;
}

const policy = { baseMs: 1000, capMs: 60_000 };
// random() = 0.5: the first backoff (attempt 2) is floor(0.5 · 1001) = 500 ms, the second 1000.
const TABLE: Row[] = [
  {
    name: 'async function error, attempts left: backoff',
    mode: 'async',
    codes: ['FUNCTION_ERROR'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'FUNCTION_ERROR' },
    want: { retry: true, delayMs: 500, crashes: 0 },
  },
  {
    name: 'async function error, last attempt: fail',
    mode: 'async',
    codes: ['FUNCTION_ERROR', 'FUNCTION_ERROR', 'FUNCTION_ERROR'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'FUNCTION_ERROR' },
    want: { retry: false, crashes: 0, poison: false },
  },
  {
    name: 'async timeout, attempts left: backoff, not a crash',
    mode: 'async',
    codes: ['SANDBOX_CRASH', 'TIMEOUT'],
    maxAttempts: 3,
    crashes: 1,
    end: { code: 'TIMEOUT' },
    want: { retry: true, delayMs: 1000, crashes: 1 },
  },
  {
    name: 'sync function error: never retried',
    mode: 'sync',
    codes: ['FUNCTION_ERROR'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'FUNCTION_ERROR' },
    want: { retry: false, crashes: 0, poison: false },
  },
  {
    name: 'async first sandbox crash: backoff, one crash',
    mode: 'async',
    codes: ['SANDBOX_CRASH'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'SANDBOX_CRASH' },
    want: { retry: true, delayMs: 500, crashes: 1 },
  },
  {
    name: 'async second sandbox crash: poison',
    mode: 'async',
    codes: ['SANDBOX_CRASH', 'SANDBOX_CRASH'],
    maxAttempts: 3,
    crashes: 1,
    end: { code: 'SANDBOX_CRASH' },
    want: { retry: false, crashes: 2, poison: true },
  },
  {
    name: 'async OOM after a protocol break: poison',
    mode: 'async',
    codes: ['SANDBOX_PROTOCOL', 'OUT_OF_MEMORY'],
    maxAttempts: 11,
    crashes: 1,
    end: { code: 'OUT_OF_MEMORY' },
    want: { retry: false, crashes: 2, poison: true },
  },
  {
    name: 'async first protocol break: backoff',
    mode: 'async',
    codes: ['SANDBOX_PROTOCOL'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'SANDBOX_PROTOCOL' },
    want: { retry: true, delayMs: 500, crashes: 1 },
  },
  {
    name: 'sync sandbox crash: failed, counted',
    mode: 'sync',
    codes: ['SANDBOX_CRASH'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'SANDBOX_CRASH' },
    want: { retry: false, crashes: 1, poison: false },
  },
  {
    name: 'async worker died: at once, one crash',
    mode: 'async',
    codes: ['WORKER_LOST'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'WORKER_LOST', workerDied: true },
    want: { retry: true, delayMs: 0, crashes: 1 },
  },
  {
    name: 'async worker died twice: poison with attempts left',
    mode: 'async',
    codes: ['WORKER_LOST', 'WORKER_LOST'],
    maxAttempts: 11,
    crashes: 1,
    end: { code: 'WORKER_LOST', workerDied: true },
    want: { retry: false, crashes: 2, poison: true },
  },
  {
    name: 'async worker died after a sandbox crash: poison',
    mode: 'async',
    codes: ['SANDBOX_CRASH', 'WORKER_LOST'],
    maxAttempts: 3,
    crashes: 1,
    end: { code: 'WORKER_LOST', workerDied: true },
    want: { retry: false, crashes: 2, poison: true },
  },
  {
    name: 'async worker refused (alive): at once, no crash',
    mode: 'async',
    codes: ['WORKER_LOST', 'WORKER_LOST'],
    maxAttempts: 3,
    crashes: 1,
    end: { code: 'WORKER_LOST' },
    want: { retry: true, delayMs: 0, crashes: 1 },
  },
  {
    name: 'async lost on the last attempt: fail, not poison',
    mode: 'async',
    codes: ['FUNCTION_ERROR', 'WORKER_LOST'],
    maxAttempts: 2,
    crashes: 0,
    end: { code: 'WORKER_LOST', workerDied: true },
    want: { retry: false, crashes: 1, poison: false },
  },
  {
    name: 'sync worker died once: retried at once',
    mode: 'sync',
    codes: ['WORKER_LOST'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'WORKER_LOST', workerDied: true },
    want: { retry: true, delayMs: 0, crashes: 1 },
  },
  {
    name: 'sync second WORKER_LOST (refusal): not retried again',
    mode: 'sync',
    codes: ['WORKER_LOST', 'WORKER_LOST'],
    maxAttempts: 11,
    crashes: 0,
    end: { code: 'WORKER_LOST' },
    want: { retry: false, crashes: 0, poison: false },
  },
  {
    name: 'sync unrequested CANCELLED then WORKER_LOST: not retried again',
    mode: 'sync',
    codes: ['CANCELLED', 'WORKER_LOST'],
    maxAttempts: 11,
    crashes: 0,
    end: { code: 'WORKER_LOST' },
    want: { retry: false, crashes: 0, poison: false },
  },
  {
    name: 'async unrequested CANCELLED: at once',
    mode: 'async',
    codes: ['CANCELLED'],
    maxAttempts: 3,
    crashes: 0,
    end: { code: 'CANCELLED' },
    want: { retry: true, delayMs: 0, crashes: 0 },
  },
];

describe('decideRetry (the one place retry decisions are made)', () => {
  it(`gives an execution up after ${POISON_CRASHES} crashes`, () => expect(POISON_CRASHES).toBe(2));
  for (const row of TABLE) {
    it(row.name, () => {
      const rec = { mode: row.mode, attempt: row.codes.length, maxAttempts: row.maxAttempts, crashes: row.crashes, attempts: history(row.codes) };
      expect(decideRetry(rec, row.end, policy, () => 0.5)).toEqual(row.want);
    });
  }
  it('treats a record without a crashes field as 0 crashes', () => {
    const rec = { mode: 'async' as const, attempt: 1, maxAttempts: 3, attempts: history(['SANDBOX_CRASH']) };
    expect(decideRetry(rec, { code: 'SANDBOX_CRASH' }, policy, () => 0)).toEqual({ retry: true, delayMs: 0, crashes: 1 });
  });
  it('says why a poison pill was given up, keeping what its last attempt said', () => {
    expect(poisonMessage('process exited with code 1', 2)).toBe('process exited with code 1; killed its sandbox or worker 2 times; not retried');
  });
});
