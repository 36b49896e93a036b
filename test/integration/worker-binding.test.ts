/**
 * What a worker may claim (PROTOCOL.md "Handshake", "Reconnect", "Attempt lease"), attacked with
 * hand-driven gRPC workers against a real scheduler on port 0 with its own data dir: a second
 * Hello with a live worker's id, a capacity of 5000, forged Results for someone else's
 * execution, and the sandbox level a worker reports.
 */
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeWorker, hello, okResult } from '../helpers/fake-worker.js';
import { startBareScheduler, type BareScheduler } from '../helpers/bare-scheduler.js';

let s: BareScheduler | undefined;
const fakes: FakeWorker[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) f.close();
  await s?.close();
  s = undefined;
});

const ECHO = 'export default async (e) => e';

async function worker(id: string, over: Parameters<typeof hello>[1] = {}): Promise<FakeWorker> {
  const w = s!.worker();
  fakes.push(w);
  w.sendHello(hello(id, over));
  await w.waitFor('welcome');
  return w;
}

function attacker(): FakeWorker {
  const w = s!.worker();
  fakes.push(w);
  return w;
}

describe('Handshake: a worker id is bound to its connection', () => {
  it('a second Hello with a live worker’s id is refused; the original keeps its stream and its work', async () => {
    s = await startBareScheduler();
    const victim = await worker('w_victim', { capacity: 2, name: 'victim' });

    const evil = attacker();
    evil.sendHello(hello('w_victim', { capacity: 1024, name: 'evil' }));
    const refused = await evil.status;
    expect(refused.code).toBe(status.ALREADY_EXISTS);
    expect(evil.received).toEqual([]);

    const workers = await s.control.listWorkers();
    expect(workers.map((w) => [w.id, w.name, w.capacity, w.status])).toEqual([['w_victim', 'victim', 2, 'ready']]);

    // The victim still gets work and its Result counts.
    await s.control.putFunction('echo', { code: ECHO }, false);
    const run = s.control.invoke({ function: 'echo', version: 0, inputJson: '{"n":1}', mode: 'sync', idempotencyKey: null, waitMs: 10_000 });
    const ex = await victim.waitFor('execute');
    victim.send({ $case: 'result', value: okResult(ex.executionId, ex.lease, { ran: 'victim' }) });
    const done = JSON.parse((await run).execution.json);
    expect(done).toMatchObject({ status: 'succeeded', workerId: 'w_victim', output: { ran: 'victim' } });
    expect(evil.all('execute')).toEqual([]);
    expect(victim.ended).toBe(false);
  });

  it('the same id connects again once its old stream is gone (Reconnect)', async () => {
    s = await startBareScheduler();
    const first = await worker('w_back');
    first.close();
    // The scheduler notices the cancelled stream; the id is free again.
    const deadline = Date.now() + 5000;
    while ((await s.control.listWorkers()).find((w) => w.id === 'w_back')?.status !== 'lost') {
      if (Date.now() > deadline) throw new Error('old stream never seen closed');
      await new Promise((r) => setTimeout(r, 20));
    }
    const again = await worker('w_back');
    expect(again.all('welcome')[0]!.workerId).toBe('w_back');
  });
});

describe('Handshake: claims are capped and validated', () => {
  it('a Hello claiming capacity 5000 is refused and never registered', async () => {
    s = await startBareScheduler();
    const greedy = attacker();
    greedy.sendHello(hello('w_greedy', { capacity: 5000 }));
    const st = await greedy.status;
    expect(st.code).toBe(status.INVALID_ARGUMENT);
    expect(st.details).toMatch(/capacity must be an integer 1\.\.1024/);
    expect(greedy.received).toEqual([]);
    expect(await s.control.listWorkers()).toEqual([]);
  });

  it('a heartbeat raising capacity to 5000 ends the stream; the worker is lost', async () => {
    s = await startBareScheduler();
    const w = await worker('w_grows', { capacity: 2 });
    w.send({
      $case: 'heartbeat',
      value: { inFlight: 0, capacity: 5000, warm: [], rssBytes: 0, seq: 1, draining: false, sandboxesBusy: 0, sandboxesIdle: 0, sandboxesPrewarmed: 0 },
    });
    expect((await w.status).code).toBe(status.INVALID_ARGUMENT);
    const listed = await s.control.listWorkers();
    expect(listed.map((x) => [x.id, x.capacity, x.status])).toEqual([['w_grows', 2, 'lost']]);
  });

  it('a 201-character name is refused', async () => {
    s = await startBareScheduler();
    const w = attacker();
    w.sendHello(hello('w_long', { name: 'x'.repeat(201) }));
    expect((await w.status).code).toBe(status.INVALID_ARGUMENT);
    expect(await s.control.listWorkers()).toEqual([]);
  });

  it('GET /v1/workers shows the sandbox level each worker reported; an unknown one is insecure', async () => {
    s = await startBareScheduler();
    await worker('w_ns', { sandboxLevel: 'namespaces' });
    await worker('w_insecure', { sandboxLevel: 'insecure' });
    await worker('w_liar', { sandboxLevel: 'hardware-enclave' });
    const listed = await s.control.listWorkers();
    expect(Object.fromEntries(listed.map((w) => [w.id, w.sandbox]))).toEqual({ w_ns: 'namespaces', w_insecure: 'insecure', w_liar: 'insecure' });
  });
});

describe('Attempt lease: reports for executions a worker was not given are dropped', () => {
  it('a forged Started, Log and Result from a second authenticated worker change nothing', async () => {
    s = await startBareScheduler();
    const honest = await worker('w_honest', { capacity: 1 });
    await s.control.putFunction('echo', { code: ECHO }, false);
    const run = s.control.invoke({ function: 'echo', version: 0, inputJson: '{"n":2}', mode: 'sync', idempotencyKey: null, waitMs: 10_000 });
    const ex = await honest.waitFor('execute');

    // The forger knows the execution id and even the lease (the worst case), but was not given it.
    const forger = await worker('w_forger', { capacity: 1 });
    forger.send({ $case: 'started', value: { executionId: ex.executionId, lease: ex.lease, coldStart: true, initMs: 1, startedAtMs: Date.now() } });
    forger.send({
      $case: 'log',
      value: { executionId: ex.executionId, lease: ex.lease, lines: [{ tsMs: Date.now(), stream: 'stdout', message: 'forged' }], truncated: false, dropped: 0 },
    });
    forger.send({ $case: 'result', value: okResult(ex.executionId, ex.lease, { forged: true }) });
    // A heartbeat round trip on the forger's stream: everything it sent before has been read.
    forger.send({
      $case: 'heartbeat',
      value: { inFlight: 0, capacity: 1, warm: [], rssBytes: 0, seq: 1, draining: false, sandboxesBusy: 0, sandboxesIdle: 0, sandboxesPrewarmed: 0 },
    });
    await new Promise((r) => setTimeout(r, 100));
    const mid = JSON.parse((await s.control.getExecution(ex.executionId, 0)).json);
    expect(mid).toMatchObject({ status: 'running', workerId: 'w_honest', output: null });

    honest.send({ $case: 'result', value: okResult(ex.executionId, ex.lease, { honest: true }) });
    const done = JSON.parse((await run).execution.json);
    expect(done).toMatchObject({ status: 'succeeded', workerId: 'w_honest', output: { honest: true } });
    expect((await s.control.getLogs(ex.executionId)).lines).toEqual([]);
    const stale = s.log.find((l) => l.reason === 'stale_lease' && l.workerId === 'w_forger');
    expect(stale.map((l) => l.msg).sort()).toEqual(['result dropped', 'started dropped']);
  });
});
