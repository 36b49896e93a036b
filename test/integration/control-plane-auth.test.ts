/**
 * "A control plane that lets no one in" (API.md Part 2, DESIGN.md "Who may talk to whom"):
 * hand-driven gRPC clients attack a real scheduler on port 0 with its own data dir — without a
 * token, with the other service's token, with a wrong token of the right length, with a malformed
 * header — on every kind of RPC (unary, server stream, bidi stream), and the token files are
 * checked on disk. The real worker agent and gateway client are then shown to refuse loudly
 * once, and keep trying.
 */
import * as grpc from '@grpc/grpc-js';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { authMetadata } from '../../common/grpc-auth.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { createGrpcControlClient } from '../../gateway/scheduler-client.js';
import { ControlServiceService, type ExecutionEvent, type SessionResponse } from '../../proto/gen/taskforge/v1/control.js';
import { startScheduler } from '../../scheduler/server.js';
import { createWorkerAgent, type WorkerAgent } from '../../worker/agent.js';
import { FakePool } from '../../worker/testing/fake-pool.js';
import { startBareScheduler, type BareScheduler } from '../helpers/bare-scheduler.js';
import { hello } from '../helpers/fake-worker.js';
import { memoryLog } from '../helpers/memory-log.js';

let s: BareScheduler | undefined;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await s?.close();
  s = undefined;
});

/** Same length and alphabet as the real token, one character different. */
const nearMiss = (token: string): string => token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');

describe('WorkerService refuses a worker without the join token', () => {
  it.each([
    ['no token', () => ({ token: undefined })],
    ['the control token', (b: BareScheduler) => ({ token: b.controlToken })],
    ['a wrong token of the right length', (b: BareScheduler) => ({ token: nearMiss(b.joinToken) })],
    ['a Basic header', (b: BareScheduler) => ({ authorization: `Basic ${b.joinToken}` })],
    ['a bare "Bearer"', () => ({ authorization: 'Bearer' })],
  ])('%s → UNAUTHENTICATED; no Welcome, no Execute, never registered', async (_what, creds) => {
    s = await startBareScheduler();
    // Work is waiting, so a worker that got in would be sent an Execute at once.
    await s.control.putFunction('echo', { code: 'export default async (e) => e' }, false);
    await s.control.invoke({ function: 'echo', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    const w = s.worker(creds(s));
    closers.push(() => w.close());
    w.sendHello(hello('w_intruder', { capacity: 8 }));
    const st = await w.status;
    expect(st.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(st.details).toBe('a valid join token is required (metadata authorization: Bearer <token>)');
    expect(w.received).toEqual([]);
    expect(await s.control.listWorkers()).toEqual([]);
    expect(s.log.find((l) => l.msg === 'call refused: no valid token' && l.reason === 'unauthenticated')).toHaveLength(1);
  });

  it('the join token → Welcome', async () => {
    s = await startBareScheduler();
    const w = s.worker();
    closers.push(() => w.close());
    w.sendHello(hello('w_member'));
    expect((await w.waitFor('welcome')).workerId).toBe('w_member');
    expect((await s.control.listWorkers()).map((x) => x.id)).toEqual(['w_member']);
  });
});

describe('ControlService refuses a gateway without the control token', () => {
  function rawClient(address: string): grpc.Client {
    const c = new grpc.Client(address, grpc.credentials.createInsecure());
    closers.push(() => c.close());
    return c;
  }

  function unary(c: grpc.Client, md: grpc.Metadata): Promise<grpc.ServiceError | null> {
    const def = ControlServiceService.listWorkers;
    return new Promise((resolve) => c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, {}, md, {}, (err) => resolve(err)));
  }

  it.each([
    ['no token', () => new grpc.Metadata()],
    ['the join token', (b: BareScheduler) => authMetadata(b.joinToken)],
    ['a wrong token of the right length', (b: BareScheduler) => authMetadata(nearMiss(b.controlToken))],
  ])('a unary call with %s → UNAUTHENTICATED', async (_what, md) => {
    s = await startBareScheduler();
    const err = await unary(rawClient(s.address), md(s));
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err?.details).toBe('a valid control token is required (metadata authorization: Bearer <token>)');
    expect(await unary(rawClient(s.address), authMetadata(s.controlToken))).toBeNull();
  });

  it('WatchEvents without the token ends UNAUTHENTICATED and carries no event', async () => {
    s = await startBareScheduler();
    const def = ControlServiceService.watchEvents;
    const call = rawClient(s.address).makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      { function: '', executionId: '', afterSeq: 0, functions: [] },
      new grpc.Metadata(),
      {},
    );
    const events: ExecutionEvent[] = [];
    call.on('data', (e: ExecutionEvent) => events.push(e));
    call.on('error', () => undefined);
    const st = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    await s.control.putFunction('echo', { code: 'export default async (e) => e' }, false);
    await s.control.invoke({ function: 'echo', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    expect(st.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(events).toEqual([]);
  });

  it('a Session stream without the token is refused before any invoke it carries is read', async () => {
    s = await startBareScheduler();
    await s.control.putFunction('echo', { code: 'export default async (e) => e' }, false);
    const def = ControlServiceService.session;
    const call = rawClient(s.address).makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, new grpc.Metadata(), {});
    const replies: SessionResponse[] = [];
    call.on('data', (r: SessionResponse) => replies.push(r));
    call.on('error', () => undefined);
    call.write({
      requestId: 1,
      call: {
        $case: 'invoke',
        value: { function: 'echo', version: 0, inputJson: '1', mode: 'async', idempotencyKey: '', waitMs: 0, delayMs: 0, at: '', priority: '' },
      },
    });
    const st = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    expect(st.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(replies).toEqual([]);
    expect((await s.control.listExecutions({ limit: 10 })).executions).toEqual([]);
  });

  it('the gateway without the token answers 503 and logs the refusal once, not per request', async () => {
    s = await startBareScheduler();
    const log = memoryLog();
    const gw: RunningGateway = await startGateway({ port: 0, scheduler: s.address, logger: log.logger, client: { callTimeoutMs: 2000 } });
    closers.push(() => gw.close());
    const base = `http://127.0.0.1:${gw.port}`;
    // A well-formed API key: the gateway must ask the scheduler about it, and cannot.
    const authorization = `Bearer tfk_${'a'.repeat(12)}_${'b'.repeat(40)}`;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/v1/workers`, { headers: { authorization } });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'SCHEDULER_UNAVAILABLE' } });
    }
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    const invoke = await fetch(`${base}/v1/functions/echo/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: '{}',
    });
    expect(invoke.status).toBe(503);
    const refusals = log.find((l) => l.level === 50 && /refused the control token/.test(String(l.msg)));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).not.toHaveProperty('err');
  });

  it('the gateway client with the control token gets its answers', async () => {
    s = await startBareScheduler();
    const c = createGrpcControlClient(s.address, { controlToken: s.controlToken });
    closers.push(() => c.close());
    await c.ping(2000);
    expect(await c.listWorkers()).toEqual([]);
  });
});

describe('the tokens on disk', () => {
  it('are made at first start, mode 0600, and only their digests are kept beside them', async () => {
    s = await startBareScheduler();
    const dir = s.dataDir;
    for (const name of ['join.token', 'control.token', 'credentials.json']) {
      expect(((await stat(join(dir, name))).mode & 0o777).toString(8)).toBe('600');
    }
    const joinText = await readFile(join(dir, 'join.token'), 'utf8');
    const controlText = await readFile(join(dir, 'control.token'), 'utf8');
    expect(joinText).toMatch(/^tfj_[A-Za-z0-9_-]{43}\n$/);
    expect(controlText).toMatch(/^tfc_[A-Za-z0-9_-]{43}\n$/);
    const digests = await readFile(join(dir, 'credentials.json'), 'utf8');
    expect(digests).not.toContain(s.joinToken);
    expect(digests).not.toContain(s.controlToken);
    expect(digests).not.toContain(s.joinToken.slice(4, 20));
    expect(JSON.parse(digests)).toEqual({
      format: 1,
      algorithm: 'sha256',
      join: expect.stringMatching(/^[0-9a-f]{64}$/),
      control: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('keep working after the operator deleted the token files; a new start makes no new ones', async () => {
    s = await startBareScheduler();
    const { dataDir, joinToken, controlToken } = s;
    await s.handle.close();
    await rm(join(dataDir, 'join.token'));
    await rm(join(dataDir, 'control.token'));
    const again = await startScheduler({ port: 0, dataDir });
    closers.push(() => again.close());
    const c = createGrpcControlClient(again.address, { controlToken });
    closers.push(() => c.close());
    expect(await c.listWorkers()).toEqual([]);
    const w = new (await import('../helpers/fake-worker.js')).FakeWorker(again.address, { token: joinToken });
    closers.push(() => w.close());
    w.sendHello(hello('w_after'));
    await w.waitFor('welcome');
    await expect(stat(join(dataDir, 'join.token'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('derive the digests again from the token files when credentials.json is gone', async () => {
    s = await startBareScheduler();
    const { dataDir, controlToken } = s;
    await s.handle.close();
    await rm(join(dataDir, 'credentials.json'));
    const again = await startScheduler({ port: 0, dataDir });
    closers.push(() => again.close());
    const c = createGrpcControlClient(again.address, { controlToken });
    closers.push(() => c.close());
    expect(await c.listWorkers()).toEqual([]);
    expect(JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')).control).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuse to start when a token file does not match its digest', async () => {
    s = await startBareScheduler();
    const { dataDir } = s;
    await s.handle.close();
    await writeFile(join(dataDir, 'join.token'), `tfj_${'x'.repeat(43)}\n`, { mode: 0o600 });
    await expect(startScheduler({ port: 0, dataDir })).rejects.toThrow(/join\.token does not match its digest/);
  });
});

describe('a worker agent the scheduler refuses', () => {
  let agent: WorkerAgent | undefined;
  afterEach(async () => {
    await agent?.close(0);
    agent = undefined;
  });

  it('logs one clear error line (no stack) and keeps retrying with its backoff', async () => {
    s = await startBareScheduler();
    const log = memoryLog('debug');
    agent = createWorkerAgent({
      schedulerAddress: s.address,
      joinToken: nearMiss(s.joinToken),
      pool: new FakePool(),
      reconnectBaseMs: 10,
      reconnectCapMs: 40,
      logger: log.logger,
    });
    await agent.start();
    // Several refused attempts in a row.
    for (let n = 1; n <= 4; n++) await log.waitFor((l) => l.msg === 'scheduler stream lost; reconnecting' && l.attempt === n, 5000, `attempt ${n}`);
    expect(agent.connected).toBe(false);
    const errors = log.find((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ reason: 'unauthenticated', code: grpc.status.UNAUTHENTICATED });
    expect(errors[0]!.msg).toMatch(/refused the join token .*--join-token-file/);
    expect(errors[0]).not.toHaveProperty('err');
    expect(JSON.stringify(log.lines)).not.toContain(s.joinToken.slice(4));
    expect(await s.control.listWorkers()).toEqual([]);
  });

  it('with the join token it is welcomed', async () => {
    s = await startBareScheduler();
    agent = createWorkerAgent({ schedulerAddress: s.address, joinToken: s.joinToken, pool: new FakePool(), reconnectBaseMs: 10, reconnectCapMs: 40 });
    await agent.start();
    expect(agent.connected).toBe(true);
    expect((await s.control.listWorkers()).map((w) => w.id)).toEqual([agent.id]);
  });
});
