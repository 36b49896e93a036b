import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { TaskForgeError } from '../common/errors.js';
import type { ControlClient, InvokeArgs, WatchHandlers } from './control-client.js';
import { DEADLINE_PASSED } from './control-session.js';
import { createFailoverControlClient, isSchedulerGone } from './scheduler-failover.js';
import { createFakeControlClient, type FakeControlClient } from './testing/fake-control-client.js';

/** What a call on a connection that was refused or reset rejects with (fromGrpcError's shape). */
const gone = (code = GrpcStatus.UNAVAILABLE): TaskForgeError =>
  new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is not reachable', { reason: 'unreachable' }, { cause: { code, details: 'Connection dropped' } });
const down = async (): Promise<never> => Promise.reject(gone());

const invokeArgs = (idempotencyKey: string | null): InvokeArgs => ({ function: 'f', version: 0, inputJson: '{}', mode: 'sync', idempotencyKey, waitMs: 0 });

function pair(a: Partial<ControlClient>, b: Partial<ControlClient> = {}): { client: ControlClient; a: FakeControlClient; b: FakeControlClient } {
  const fakes = { 'a:1': createFakeControlClient(a), 'b:1': createFakeControlClient(b) };
  const client = createFailoverControlClient(['a:1', 'b:1'], (address) => fakes[address as 'a:1' | 'b:1']);
  return { client, a: fakes['a:1'], b: fakes['b:1'] };
}

describe('isSchedulerGone', () => {
  it('is true for a refused, reset or ended connection and false for everything else', () => {
    expect(isSchedulerGone(gone())).toBe(true);
    expect(isSchedulerGone(gone(GrpcStatus.CANCELLED))).toBe(true);
    // A session that failed wraps the call's error; the status is found down the chain.
    expect(isSchedulerGone(new TaskForgeError('SCHEDULER_UNAVAILABLE', 'session failed', {}, { cause: gone() }))).toBe(true);
    expect(isSchedulerGone(new TaskForgeError('SCHEDULER_UNAVAILABLE', 'session ended'))).toBe(true);
    expect(isSchedulerGone(gone(GrpcStatus.UNAUTHENTICATED))).toBe(false);
    expect(isSchedulerGone(gone(GrpcStatus.DEADLINE_EXCEEDED))).toBe(false);
    expect(isSchedulerGone(new TaskForgeError('SCHEDULER_UNAVAILABLE', 'no answer before the deadline', {}, { cause: DEADLINE_PASSED }))).toBe(false);
    expect(isSchedulerGone(new TaskForgeError('SCHEDULER_UNAVAILABLE', 'closing', { reason: 'shutting_down' }))).toBe(false);
    expect(isSchedulerGone(new TaskForgeError('FUNCTION_NOT_FOUND', 'no'))).toBe(false);
    expect(isSchedulerGone(new Error('x'))).toBe(false);
  });
});

describe('createFailoverControlClient', () => {
  it('uses the one client as it is for a single address', () => {
    const only = createFakeControlClient();
    expect(createFailoverControlClient(['a:1'], () => only)).toBe(only);
  });

  it('retries a read once on the next scheduler and keeps using that one', async () => {
    const { client, a, b } = pair({ listFunctions: down });
    await expect(client.listFunctions()).resolves.toHaveLength(2);
    await client.stats();
    expect(a.callsTo('listFunctions')).toHaveLength(1);
    expect(b.callsTo('listFunctions')).toHaveLength(1);
    expect(a.callsTo('stats')).toHaveLength(0);
    expect(b.callsTo('stats')).toHaveLength(1);
  });

  it('retries an invoke with an idempotency key, never one without: that one is a 503 saying it may have run', async () => {
    const { client, a, b } = pair({ invoke: down }, { invoke: down });
    await expect(client.invoke(invokeArgs(null))).rejects.toMatchObject({
      code: 'SCHEDULER_UNAVAILABLE',
      statusCode: 503,
      details: { reason: 'scheduler_lost' },
    });
    expect(a.callsTo('invoke')).toHaveLength(1);
    expect(b.callsTo('invoke')).toHaveLength(0);

    // B is active now; it fails too, and a keyed invoke goes back to A once.
    const keyed = pair({ invoke: down });
    await expect(keyed.client.invoke(invokeArgs('k1'))).resolves.toMatchObject({ created: true });
    expect(keyed.b.callsTo('invoke')).toEqual([[invokeArgs('k1')]]);
  });

  it('retries a batch and a workflow run only with a key, and no other write', async () => {
    const { client, b } = pair({ invokeBatch: down, startWorkflowRun: down, putFunction: down, cancelExecution: down });
    await expect(client.invokeBatch({ function: 'f', version: 0, inputJsons: ['1'], idempotencyKey: 'k' })).resolves.toMatchObject({ created: true });
    const again = pair({ startWorkflowRun: down, putFunction: down });
    await expect(again.client.putFunction('f', {}, false)).rejects.toMatchObject({ details: { reason: 'scheduler_lost' } });
    expect(again.b.callsTo('putFunction')).toHaveLength(0);
    // The write failed over without a retry: the next call goes to B.
    await expect(again.client.startWorkflowRun('w', '{}', null)).resolves.toMatchObject({ created: true });
    expect(b.callsTo('invokeBatch')).toHaveLength(1);
  });

  it('passes on a failure that is not the scheduler going away, without a retry or a move', async () => {
    const refused = new TaskForgeError('SCHEDULER_UNAVAILABLE', 'refused', {}, { cause: { code: GrpcStatus.UNAUTHENTICATED } });
    const { client, a, b } = pair({
      listFunctions: () => Promise.reject(refused),
      getFunction: () => Promise.reject(new TaskForgeError('FUNCTION_NOT_FOUND', 'no')),
    });
    await expect(client.listFunctions()).rejects.toBe(refused);
    await expect(client.getFunction('f', false)).rejects.toMatchObject({ code: 'FUNCTION_NOT_FOUND' });
    await client.stats();
    expect(a.callsTo('stats')).toHaveLength(1);
    expect(b.calls).toHaveLength(0);
  });

  it('rejects with the second failure when the next scheduler is gone too, and moves on again', async () => {
    const { client, a, b } = pair({ stats: down }, { stats: down });
    await expect(client.stats()).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE' });
    expect(a.callsTo('stats')).toHaveLength(1);
    expect(b.callsTo('stats')).toHaveLength(1);
    await expect(client.stats()).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE' });
    expect(a.callsTo('stats')).toHaveLength(2);
  });

  it('ends a watch whose scheduler went away and opens the next one on the next scheduler', () => {
    let ended: WatchHandlers | null = null;
    const { client, a, b } = pair({ watchEvents: (_args, on) => ((ended = on), { close: () => undefined }) });
    const seen: Array<TaskForgeError | null> = [];
    client.watchEvents({ afterSeq: 0 }, { change: () => undefined, reset: () => undefined, end: (err) => seen.push(err) });
    (ended as WatchHandlers | null)!.end(gone());
    expect(seen).toHaveLength(1);
    client.watchEvents({ afterSeq: 7 }, { change: () => undefined, reset: () => undefined, end: () => undefined });
    expect(a.callsTo('watchEvents')).toHaveLength(1);
    expect(b.callsTo('watchEvents')[0]![0]).toEqual({ afterSeq: 7 });
  });

  it('moves log follows on the same way, and closes every client on close', () => {
    let failed: ((err: TaskForgeError) => void) | null = null;
    const { client, a, b } = pair({ followLogs: (_id, on) => ((failed = on.error), { close: () => undefined }) });
    const errors: TaskForgeError[] = [];
    client.followLogs('ex_1', { line: () => undefined, end: () => undefined, error: (e) => errors.push(e) });
    (failed as ((err: TaskForgeError) => void) | null)!(gone());
    expect(errors).toHaveLength(1);
    client.followLogs('ex_1', { line: () => undefined, end: () => undefined, error: () => undefined });
    expect(b.callsTo('followLogs')).toHaveLength(1);
    client.close();
    expect(a.callsTo('close')).toHaveLength(1);
    expect(b.callsTo('close')).toHaveLength(1);
  });

  it('passes over a scheduler whose connection is refused before sending anything, for any call', async () => {
    const { client, a, b } = pair({ connect: async () => 'refused' }, { connect: async () => 'ready' });
    // Nothing reached A, so even an invoke without a key goes to B.
    await expect(client.invoke(invokeArgs(null))).resolves.toMatchObject({ created: true });
    await client.putFunction('f', {}, false);
    expect(a.callsTo('invoke')).toHaveLength(0);
    expect(b.callsTo('invoke')).toHaveLength(1);
    expect(b.callsTo('putFunction')).toHaveLength(1);
    expect(a.callsTo('connect')).toHaveLength(1);
    await expect(client.connect!(100)).resolves.toBe('ready');
  });

  it('passes over a scheduler that does not connect in time, and sends to the one in use when none connects', async () => {
    const slow = pair({ connect: async () => 'timeout' });
    await slow.client.stats();
    expect(slow.b.callsTo('stats')).toHaveLength(1);

    const none = pair({ connect: async () => 'refused', stats: down }, { connect: async () => 'refused', stats: down });
    await expect(none.client.stats()).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE' });
    expect(none.a.callsTo('connect').length + none.b.callsTo('connect').length).toBeGreaterThanOrEqual(2);
  });

  it('does not retry once closed', async () => {
    const { client, b } = pair({ stats: down });
    client.close();
    await expect(client.stats()).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE' });
    expect(b.callsTo('stats')).toHaveLength(0);
  });
});
