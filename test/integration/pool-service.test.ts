/**
 * PoolService.Connect against a real scheduler on port 0 (proto/PROTOCOL.md, "Pools"): what it
 * refuses before a pool is listed, and what a listed pool is sent.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { authMetadata, readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import { PoolServiceService, type PoolCommand, type PoolMessage, type PoolState } from '../../proto/gen/taskforge/v1/pool.js';
import { startScheduler, type SchedulerHandle } from '../../scheduler/server.js';
import { createGrpcControlClient } from '../../gateway/scheduler-client.js';

const STATE: PoolState = { current: 1, target: 1, min: 0, max: 4, autoscale: false, workerCapacity: 2 };

let dataDir: string;
let scheduler: SchedulerHandle;
const clients: grpc.Client[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'taskforge-pool-svc-'));
  scheduler = await startScheduler({ port: 0, dataDir, logger: silentLogger });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await scheduler.close();
  await rm(dataDir, { recursive: true, force: true });
});

interface Stream {
  call: grpc.ClientDuplexStream<PoolMessage, PoolCommand>;
  received: PoolCommand[];
  /** Resolves with the call's final status. */
  status: Promise<grpc.StatusObject>;
  next(): Promise<PoolCommand>;
}

function connect(token: string | null): Stream {
  const client = new grpc.Client(scheduler.address, grpc.credentials.createInsecure());
  clients.push(client);
  const m = PoolServiceService.connect;
  const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, authMetadata(token), {});
  const received: PoolCommand[] = [];
  const waiters: ((c: PoolCommand) => void)[] = [];
  call.on('data', (c: PoolCommand) => {
    const w = waiters.shift();
    if (w) w(c);
    else received.push(c);
  });
  call.on('error', () => undefined);
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return {
    call,
    received,
    status,
    next: () => new Promise((resolve) => (received.length > 0 ? resolve(received.shift()!) : waiters.push(resolve))),
  };
}

const joinToken = (): string => readTokenFile(scheduler.tokenFiles.join);
const hello = (name: string, state: PoolState = STATE): PoolMessage => ({ msg: { $case: 'hello', value: { name, host: 'h1', state } } });

describe('PoolService.Connect', () => {
  it('without the join token: UNAUTHENTICATED, nothing sent; the control token does not do either', async () => {
    const none = connect(null);
    none.call.write(hello('p1'));
    expect((await none.status).code).toBe(grpc.status.UNAUTHENTICATED);
    const control = connect(readTokenFile(scheduler.tokenFiles.control));
    control.call.write(hello('p1'));
    expect((await control.status).code).toBe(grpc.status.UNAUTHENTICATED);
    expect([...none.received, ...control.received]).toEqual([]);
  });

  it('a Welcome, then a LoadReport; the pool is listed, its state kept, scale requests relayed; the stream ending unlists it', async () => {
    const s = connect(joinToken());
    s.call.write(hello('p1'));
    expect((await s.next()).msg).toEqual({ $case: 'welcome', value: { loadIntervalMs: 1000 } });
    expect((await s.next()).msg).toEqual({ $case: 'load', value: { queueDepth: 0, inFlight: 0, capacity: 0, workersReady: 0 } });
    const control = createGrpcControlClient(scheduler.address, { controlToken: readTokenFile(scheduler.tokenFiles.control) });
    try {
      expect(await control.listPools()).toEqual([expect.objectContaining({ name: 'p1', host: 'h1', current: 1, target: 1, max: 4 })]);
      s.call.write({ msg: { $case: 'state', value: { ...STATE, current: 2, target: 2 } } });
      await vi.waitFor(async () => expect((await control.listPools())[0]).toMatchObject({ current: 2, target: 2 }));
      // A scale request reaches the stream with an id; its answer settles the API call.
      const scaled = control.scaleWorkers('p1', 3);
      const req = await s.next();
      expect(req.msg).toMatchObject({ $case: 'scale', value: { workers: 3 } });
      const requestId = req.msg?.$case === 'scale' ? req.msg.value.requestId : 0;
      s.call.write({ msg: { $case: 'scaleResult', value: { requestId, state: { ...STATE, target: 3, current: 2 }, errorCode: '', errorMessage: '' } } });
      expect(await scaled).toMatchObject({ name: 'p1', target: 3 });
      await expect(control.scaleWorkers('p1', 9)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    } finally {
      control.close();
    }
    // A second stream with the live name is refused, not a takeover.
    const dup = connect(joinToken());
    dup.call.write(hello('p1'));
    const dupStatus = await dup.status;
    expect(dupStatus.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(dup.received).toEqual([]);
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);
    const after = createGrpcControlClient(scheduler.address, { controlToken: readTokenFile(scheduler.tokenFiles.control) });
    try {
      await vi.waitFor(async () => expect(await after.listPools()).toEqual([]));
    } finally {
      after.close();
    }
  });

  const REFUSED: [string, PoolMessage, RegExp][] = [
    ['a first message that is not a PoolHello', { msg: { $case: 'state', value: STATE } }, /first message/],
    ['a bad name', hello('Bad_Name'), /name must match/],
    ['max 0', hello('p1', { ...STATE, max: 0 }), /max must be/],
    ['min above max', hello('p1', { ...STATE, min: 5, max: 4 }), /min must not exceed max/],
    ['no state', { msg: { $case: 'hello', value: { name: 'p1', host: 'h', state: undefined } } }, /no state/],
    ['capacity 0', hello('p1', { ...STATE, workerCapacity: 0 }), /workerCapacity/],
  ];
  it.each(REFUSED)('%s: INVALID_ARGUMENT saying why, nothing sent', async (_what, first, why) => {
    const s = connect(joinToken());
    s.call.write(first);
    const st = await s.status;
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toMatch(why);
    expect(s.received).toEqual([]);
  });
});
