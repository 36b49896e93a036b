import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import type { Destination, Execution, FunctionVersion } from '../../common/records.js';
import { sampleExecution, sampleFunction } from '../../common/testing/records.js';
import { TaskForgeError } from '../../common/errors.js';
import type { InvokeInput } from '../execution/manager.js';
import { DeliveryManager, MAX_DESTINATION_CHAIN } from './manager.js';
import { verifySignature } from './signature.js';
import { createMemoryDeliveryStore } from './store.js';
import type { AttemptOutcome } from './transition.js';
import type { WebhookRequest } from './webhook.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const SECRET = 'whsec_unit';

interface Sent {
  req: WebhookRequest;
  signal: AbortSignal;
  answer(o: Partial<AttemptOutcome>): void;
}

function harness(opts: { concurrency?: number; perHost?: number; maxAttempts?: number } = {}) {
  const versions = new Map<string, FunctionVersion>();
  const executions = new Map<string, Execution>();
  const store = createMemoryDeliveryStore();
  const sent: Sent[] = [];
  const invoked: InvokeInput[] = [];
  let invokeError: Error | null = null;
  const manager = new DeliveryManager({
    store,
    log: silentLogger,
    version: (name, version) => versions.get(`${name}@${version}`),
    execution: (id) => executions.get(id),
    invoke: (input) => {
      invoked.push(input);
      if (invokeError) return Promise.reject(invokeError);
      return Promise.resolve({ execution: sampleExecution({ id: `ex_made${invoked.length}`, function: input.function }) });
    },
    send: (req, signal) =>
      new Promise<AttemptOutcome>((resolve) => {
        sent.push({ req, signal, answer: (o) => resolve({ ok: true, statusCode: 200, error: null, body: '', truncated: false, durationMs: 3, ...o }) });
        signal.addEventListener('abort', () => resolve({ ok: false, statusCode: null, error: 'cancelled', body: null, truncated: false, durationMs: 1 }));
      }),
    policy: { baseMs: 1_000, capMs: 60_000, maxAttempts: opts.maxAttempts ?? 3 },
    concurrency: opts.concurrency ?? 8,
    perHostConcurrency: opts.perHost ?? 2,
    now: () => Date.now(),
    random: () => 0,
  });
  const fn = (name: string, d: { onSuccess?: Destination; onFailure?: Destination }, version = 1): void => {
    versions.set(`${name}@${version}`, { ...sampleFunction(name, version), code: 'x', ...d, webhookSecret: SECRET });
  };
  const ended = (id: string, status: Execution['status'], over: Partial<Execution> = {}): Execution => {
    const rec = sampleExecution({ id, function: over.function ?? 'f', version: 1, status, ...over });
    executions.set(id, rec);
    return rec;
  };
  return {
    manager,
    store,
    sent,
    invoked,
    fn,
    ended,
    failInvokes: (err: Error | null) => (invokeError = err),
  };
}

/** Lets queued microtasks and settled promises run (no time passes). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DeliveryManager', () => {
  it('succeeded → onSuccess, failed and timed_out → onFailure, cancelled and no destination → nothing', async () => {
    const h = harness();
    h.fn('f', { onSuccess: { url: 'https://a.example/s' }, onFailure: { url: 'https://a.example/f' } });
    h.fn('plain', {});
    await h.manager.open([]);
    h.manager.onFinish(h.ended('ex_s', 'succeeded'));
    h.manager.onFinish(h.ended('ex_f', 'failed'));
    h.manager.onFinish(h.ended('ex_t', 'timed_out'));
    h.manager.onFinish(h.ended('ex_c', 'cancelled'));
    h.manager.onFinish(h.ended('ex_p', 'succeeded', { function: 'plain' }));
    h.manager.onFinish(h.ended('ex_s', 'succeeded'));
    await settle();
    expect(h.sent.map((s) => s.req.url)).toEqual(['https://a.example/s', 'https://a.example/f']);
    expect(h.manager.list('ex_t')[0]).toMatchObject({ on: 'failure', status: 'pending' });
    expect(h.manager.list('ex_c')).toEqual([]);
    expect(h.manager.list('ex_p')).toEqual([]);
    expect([...h.store.records.keys()].sort()).toEqual(['ex_f', 'ex_s', 'ex_t']);
  });

  it('signs the body with the version secret and names the delivery in a header', async () => {
    const h = harness();
    h.fn('f', { onSuccess: { url: 'https://a.example/s' } });
    await h.manager.open([]);
    h.manager.onFinish(h.ended('ex_1', 'succeeded', { lease: 'secret-lease' }));
    await settle();
    const { req } = h.sent[0]!;
    expect(JSON.parse(req.body).execution).toMatchObject({ id: 'ex_1', status: 'succeeded' });
    expect(JSON.parse(req.body).execution).not.toHaveProperty('lease');
    expect(verifySignature(SECRET, req.body, req.headers['taskforge-signature'], NOW / 1000)).toBe(true);
    expect(req.headers['taskforge-delivery']).toBe(h.manager.list('ex_1')[0]!.id);
  });

  it('retries after backoff with ONE timer for the next due delivery, then fails after the last attempt', async () => {
    const h = harness({ maxAttempts: 3 });
    h.fn('f', { onFailure: { url: 'https://a.example/f' } });
    await h.manager.open([]);
    h.manager.onFinish(h.ended('ex_1', 'failed'));
    h.manager.onFinish(h.ended('ex_2', 'failed'));
    await settle();
    h.sent[0]!.answer({ ok: false, statusCode: 503, error: 'answered 503' });
    h.sent[1]!.answer({ ok: false, statusCode: 503, error: 'answered 503' });
    await settle();
    expect(h.manager.list('ex_1')[0]).toMatchObject({ status: 'retry_wait', nextAttemptAt: new Date(NOW + 500).toISOString() });
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(h.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(h.sent).toHaveLength(4);
    h.sent[2]!.answer({ ok: false, statusCode: 500, error: 'answered 500' });
    h.sent[3]!.answer({ ok: true, statusCode: 200 });
    await settle();
    expect(h.manager.list('ex_2')[0]).toMatchObject({ status: 'delivered' });
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    h.sent[4]!.answer({ ok: false, statusCode: null, error: 'ECONNREFUSED: refused' });
    await settle();
    const d = h.manager.list('ex_1')[0]!;
    expect(d).toMatchObject({ status: 'failed', nextAttemptAt: null });
    expect(d.attempts.map((a) => a.statusCode)).toEqual([503, 500, null]);
    expect(h.store.records.get('ex_1')).toEqual(d);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a host at its limit waits while other hosts go; the overall limit holds too', async () => {
    const h = harness({ perHost: 1, concurrency: 2 });
    h.fn('slow', { onSuccess: { url: 'https://slow.example/x' } });
    h.fn('fast', { onSuccess: { url: 'https://fast.example/x' } });
    h.fn('third', { onSuccess: { url: 'https://third.example/x' } });
    await h.manager.open([]);
    h.manager.onFinish(h.ended('ex_s1', 'succeeded', { function: 'slow' }));
    h.manager.onFinish(h.ended('ex_s2', 'succeeded', { function: 'slow' }));
    h.manager.onFinish(h.ended('ex_f1', 'succeeded', { function: 'fast' }));
    h.manager.onFinish(h.ended('ex_t1', 'succeeded', { function: 'third' }));
    await settle();
    expect(h.sent.map((s) => s.req.url)).toEqual(['https://slow.example/x', 'https://fast.example/x']);
    expect(h.manager.stats).toEqual({ inFlight: 2, waiting: 2, total: 4 });
    h.sent[1]!.answer({});
    await settle();
    expect(h.sent.map((s) => s.req.url)[2]).toBe('https://third.example/x');
    h.sent[2]!.answer({});
    await settle();
    // slow.example still holds its one slot: its second delivery waits for it.
    expect(h.sent).toHaveLength(3);
    h.sent[0]!.answer({});
    await settle();
    expect(h.sent.map((s) => s.req.url)[3]).toBe('https://slow.example/x');
  });

  it('a function destination is an async invoke with an idempotency key and the destination trigger', async () => {
    const h = harness();
    h.fn('f', { onFailure: { function: 'report' } });
    await h.manager.open([]);
    h.manager.onFinish(h.ended('ex_1', 'failed'));
    await settle();
    expect(h.invoked).toEqual([
      {
        function: 'report',
        version: 0,
        inputJson: expect.stringContaining('"id":"ex_1"'),
        mode: 'async',
        idempotencyKey: 'dest:ex_1',
        waitMs: 0,
        trigger: { type: 'destination', of: 'ex_1' },
      },
    ]);
    expect(h.manager.list('ex_1')[0]).toMatchObject({ status: 'delivered', createdExecutionId: 'ex_made1' });
  });

  it('a refused invoke (function missing, queue full) is an attempt that failed, retried', async () => {
    const h = harness();
    h.fn('f', { onFailure: { function: 'report' } });
    h.failInvokes(new TaskForgeError('FUNCTION_NOT_FOUND', "function 'report' not found", { reason: 'not_found' }));
    await h.manager.open([]);
    h.manager.onFinish(h.ended('ex_1', 'failed'));
    await settle();
    expect(h.manager.list('ex_1')[0]).toMatchObject({ status: 'retry_wait', attempts: [{ error: "FUNCTION_NOT_FOUND: function 'report' not found" }] });
    h.failInvokes(null);
    await vi.advanceTimersByTimeAsync(500);
    await settle();
    expect(h.manager.list('ex_1')[0]).toMatchObject({ status: 'delivered' });
  });

  it('open(): resumes stored deliveries and makes the missing ones of terminal executions; early finishes wait for it', async () => {
    const h = harness({ perHost: 8 });
    h.fn('f', { onSuccess: { url: 'https://a.example/s' } });
    const done = h.ended('ex_done', 'succeeded');
    const missing = h.ended('ex_missing', 'succeeded');
    const early = h.ended('ex_early', 'succeeded');
    await h.store.put({ ...stored('ex_done'), status: 'delivered', nextAttemptAt: null });
    await h.store.put({ ...stored('ex_pending'), status: 'retry_wait' });
    h.ended('ex_pending', 'succeeded');
    h.manager.onFinish(early);
    expect(h.sent).toHaveLength(0);
    const r = await h.manager.open([done, missing, h.ended('ex_q', 'queued')]);
    expect(r).toEqual({ loaded: 2, created: 2, quarantined: [] });
    await settle();
    expect(h.manager.list('ex_done')[0]!.status).toBe('delivered');
    expect(h.sent.map((s) => JSON.parse(s.req.body).execution.id).sort()).toEqual(['ex_early', 'ex_missing', 'ex_pending']);
  });

  it('an execution gone before its attempt: the attempt fails with why', async () => {
    const h = harness();
    h.fn('f', { onSuccess: { url: 'https://a.example/s' } });
    await h.store.put({ ...stored('ex_gone'), maxAttempts: 1 });
    await h.manager.open([]);
    await settle();
    expect(h.manager.list('ex_gone')[0]).toMatchObject({ status: 'failed', attempts: [{ error: 'execution ex_gone is no longer kept' }] });
  });

  it('a destination chain deeper than the limit stops', async () => {
    const h = harness();
    h.fn('f', { onSuccess: { function: 'g' } });
    await h.manager.open([]);
    let of = 'ex_0';
    h.ended(of, 'succeeded');
    for (let i = 1; i <= MAX_DESTINATION_CHAIN; i++) {
      h.ended(`ex_${i}`, 'succeeded', { trigger: { type: 'destination', of } });
      of = `ex_${i}`;
    }
    h.manager.onFinish(h.ended('ex_4', 'succeeded', { trigger: { type: 'destination', of: 'ex_3' } }));
    h.manager.onFinish(h.ended('ex_5', 'succeeded', { trigger: { type: 'destination', of: 'ex_4' } }));
    await settle();
    expect(h.manager.list('ex_4')).toHaveLength(1);
    expect(h.manager.list('ex_5')).toEqual([]);
  });

  it('close(): cuts attempts in flight without recording them; nothing starts after', async () => {
    const h = harness();
    h.fn('f', { onSuccess: { url: 'https://a.example/s' } });
    await h.manager.open([]);
    h.manager.onFinish(h.ended('ex_1', 'succeeded'));
    await settle();
    await h.manager.close();
    await settle();
    expect(h.sent[0]!.signal.aborted).toBe(true);
    expect(h.manager.list('ex_1')[0]!.attempts).toEqual([]);
    expect(h.store.records.get('ex_1')!.status).toBe('pending');
    h.manager.onFinish(h.ended('ex_2', 'succeeded'));
    expect(h.manager.list('ex_2')).toEqual([]);
  });

  it('prune(): forgets deliveries of executions that are gone', async () => {
    const h = harness();
    h.fn('f', { onSuccess: { url: 'https://a.example/s' } });
    await h.manager.open([]);
    h.manager.onFinish(h.ended('ex_1', 'succeeded'));
    h.manager.onFinish(h.ended('ex_2', 'succeeded'));
    await settle();
    expect(await h.manager.prune((id) => id === 'ex_2')).toBe(1);
    expect(h.manager.list('ex_1')).toEqual([]);
    expect([...h.store.records.keys()]).toEqual(['ex_2']);
  });
});

function stored(executionId: string) {
  return {
    id: `dlv_${executionId}`,
    executionId,
    function: 'f',
    version: 1,
    on: 'success' as const,
    destination: { url: 'https://a.example/s' },
    status: 'pending' as const,
    attempts: [],
    maxAttempts: 3,
    nextAttemptAt: new Date(NOW).toISOString(),
    createdAt: new Date(NOW).toISOString(),
    finishedAt: null,
    createdExecutionId: null,
  };
}
