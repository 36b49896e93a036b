import { describe, expect, it } from 'vitest';
import { EXECUTION_STATUSES, type Execution, type ExecutionStatus } from '../common/records.js';
import { IllegalTransitionError, canTransition, transition } from './state-machine.js';
import { sampleExecution } from '../common/testing/records.js';

const LEGAL: [ExecutionStatus, ExecutionStatus][] = [
  ['queued', 'running'],
  ['queued', 'failed'],
  ['queued', 'cancelled'],
  ['running', 'succeeded'],
  ['running', 'failed'],
  ['running', 'timed_out'],
  ['running', 'cancelled'],
  ['running', 'queued'],
];

const exec = (status: ExecutionStatus): Execution =>
  sampleExecution({ id: 'ex_1', function: 'f', status, createdAt: new Date(0).toISOString(), error: status === 'failed' ? { code: 'FUNCTION_ERROR', message: 'x' } : null });

describe('execution state machine', () => {
  for (const from of EXECUTION_STATUSES) {
    for (const to of EXECUTION_STATUSES) {
      const legal = LEGAL.some(([a, b]) => a === from && b === to);
      it(`${from} → ${to} is ${legal ? 'legal' : 'illegal'}`, () => {
        expect(canTransition(from, to)).toBe(legal);
        const e = exec(from);
        if (legal) {
          transition(e, to);
          expect(e.status).toBe(to);
        } else {
          expect(() => transition(e, to)).toThrow(IllegalTransitionError);
          expect(e.status).toBe(from);
        }
      });
    }
  }

  it('applies the patch with the transition', () => {
    const e = exec('queued');
    transition(e, 'running', { workerId: 'w_1', attempt: 1 });
    expect(e).toMatchObject({ status: 'running', workerId: 'w_1' });
  });

  it('clears a previous error when an attempt is re-queued', () => {
    const e = exec('running');
    e.error = { code: 'TIMEOUT', message: 'old' };
    transition(e, 'queued', { attempt: 2 });
    expect(e.error).toBeNull();
    expect(e.attempt).toBe(2);
  });

  it('keeps the error of a failure', () => {
    const e = exec('running');
    transition(e, 'failed', { error: { code: 'FUNCTION_ERROR', message: 'boom' } });
    expect(e.error).toEqual({ code: 'FUNCTION_ERROR', message: 'boom' });
  });
});
