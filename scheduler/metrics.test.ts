import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CircuitState } from '../common/records.js';
import type { Result } from '../proto/gen/taskforge/v1/worker.js';
import { parsePrometheusText } from '../test/helpers/prometheus-text.js';
import { createSchedulerMetrics, type SchedulerMetrics } from './metrics.js';
import { TopicPublisher } from './triggers/topics.js';
import { createHarness, executes, flushMicrotasks, type Harness } from './testing/harness.js';

const CODE = 'export default async (e) => e';
let h: Harness;
let m: SchedulerMetrics;
afterEach(() => {
  vi.useRealTimers();
  m?.close();
  h?.close();
});

const result = (executionId: string, lease: string, over: Partial<Result> = {}): Result => ({
  executionId,
  lease,
  ok: true,
  outputJson: '{"r":1}',
  error: undefined,
  durationMs: 40,
  initMs: 0,
  coldStart: false,
  startedAtMs: Date.now(),
  finishedAtMs: Date.now(),
  cpuMs: 1,
  ...over,
});
const failure = { code: 'FUNCTION_ERROR', message: 'boom', name: 'Error', stack: '', detailsJson: '' };

const heartbeat = (over: { busy?: number; idle?: number; prewarmed?: number; draining?: boolean } = {}) => ({
  inFlight: 0,
  capacity: 2,
  warm: [],
  rssBytes: 1,
  seq: 1,
  draining: over.draining ?? false,
  sandboxesBusy: over.busy ?? 0,
  sandboxesIdle: over.idle ?? 0,
  sandboxesPrewarmed: over.prewarmed ?? 0,
});

/** The value of one sample, as a scraper reads it from the text (0 when that sample does not exist). */
async function sample(name: string, labels: Record<string, string> = {}): Promise<number> {
  return parsePrometheusText(await m.text()).value(name, labels);
}

const invoke = (fn: string) => h.executions.invoke({ function: fn, version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });

describe('scheduler metrics', () => {
  it('counts terminal transitions by function and status, and observes each phase of the timings once per finished execution', async () => {
    h = createHarness();
    m = createSchedulerMetrics({ state: h.state, registry: h.registry });
    await h.functions.put('f', { code: CODE, maxRetries: 0 }, false);
    await h.functions.put('g', { code: CODE, maxRetries: 0 }, false);
    const { worker, sent } = h.connect('w_1', 8);
    for (const fn of ['f', 'f', 'f', 'g']) await invoke(fn);
    await flushMicrotasks();
    const [a, b, c, d] = executes(sent);
    // Running is not terminal: nothing is counted yet.
    expect(await sample('taskforge_executions_total', { function: 'f', status: 'succeeded' })).toBe(0);
    h.dispatcher.onResult(worker, result(a!.executionId, a!.lease, { coldStart: true, initMs: 70 }));
    h.dispatcher.onResult(worker, result(b!.executionId, b!.lease));
    h.dispatcher.onResult(worker, result(c!.executionId, c!.lease, { ok: false, error: failure }));
    h.dispatcher.onResult(worker, result(d!.executionId, d!.lease, { ok: false, error: { ...failure, code: 'TIMEOUT' } }));

    expect(await sample('taskforge_executions_total', { function: 'f', status: 'succeeded' })).toBe(2);
    expect(await sample('taskforge_executions_total', { function: 'f', status: 'failed' })).toBe(1);
    expect(await sample('taskforge_executions_total', { function: 'g', status: 'timed_out' })).toBe(1);
    expect(await sample('taskforge_cold_starts_total', { function: 'f' })).toBe(1);
    expect(await sample('taskforge_cold_starts_total', { function: 'g' })).toBe(0);
    for (const phase of ['queued', 'init', 'run']) {
      expect(await sample('taskforge_execution_duration_seconds_count', { function: 'f', phase })).toBe(3);
      expect(await sample('taskforge_execution_duration_seconds_count', { function: 'g', phase })).toBe(1);
    }
    // From the records' timings, in seconds.
    expect(await sample('taskforge_execution_duration_seconds_sum', { function: 'f', phase: 'run' })).toBeCloseTo(0.12, 6);
    expect(await sample('taskforge_execution_duration_seconds_sum', { function: 'f', phase: 'init' })).toBeCloseTo(0.07, 6);
    expect(await sample('taskforge_execution_duration_seconds_bucket', { function: 'f', phase: 'run', le: '0.025' })).toBe(0);
    expect(await sample('taskforge_execution_duration_seconds_bucket', { function: 'f', phase: 'run', le: '0.05' })).toBe(3);
  });

  it('a retried attempt is not a finished execution; its final end is counted once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    h = createHarness({ retryBaseMs: 1000 });
    m = createSchedulerMetrics({ state: h.state, registry: h.registry });
    await h.functions.put('f', { code: CODE, maxRetries: 1 }, false);
    const { worker, sent } = h.connect('w_1');
    await invoke('f');
    await flushMicrotasks();
    const [first] = executes(sent);
    h.dispatcher.onResult(worker, result(first!.executionId, first!.lease, { ok: false, error: failure }));
    expect(h.state.index.get(first!.executionId)?.status).toBe('queued');
    expect(await sample('taskforge_executions_total', { function: 'f', status: 'failed' })).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    const [, second] = executes(sent);
    h.dispatcher.onResult(worker, result(second!.executionId, second!.lease, { ok: false, error: failure }));
    expect(await sample('taskforge_executions_total', { function: 'f', status: 'failed' })).toBe(1);
    expect(await sample('taskforge_execution_duration_seconds_count', { function: 'f', phase: 'run' })).toBe(1);
  });

  it('an execution cancelled in the queue counts as cancelled with a queued phase only', async () => {
    h = createHarness();
    m = createSchedulerMetrics({ state: h.state, registry: h.registry });
    await h.functions.put('f', { code: CODE }, false);
    const r = await invoke('f');
    h.executions.cancel(r.execution.id);
    expect(await sample('taskforge_executions_total', { function: 'f', status: 'cancelled' })).toBe(1);
    expect(await sample('taskforge_execution_duration_seconds_count', { function: 'f', phase: 'queued' })).toBe(1);
    expect(await sample('taskforge_execution_duration_seconds_count', { function: 'f', phase: 'run' })).toBe(0);
  });

  it('reads the queue depth, the workers by status and the live workers’ sandboxes when scraped', async () => {
    h = createHarness();
    m = createSchedulerMetrics({ state: h.state, registry: h.registry });
    await h.functions.put('f', { code: CODE }, false);
    for (let i = 0; i < 3; i++) await invoke('f');
    expect(await sample('taskforge_queue_depth')).toBe(3);
    expect(await sample('taskforge_workers', { status: 'ready' })).toBe(0);

    const one = h.connect('w_1', 1);
    const two = h.connect('w_2', 1);
    const three = h.connect('w_3', 1);
    await flushMicrotasks();
    expect(await sample('taskforge_queue_depth')).toBe(0);
    h.registry.heartbeat(one.worker, heartbeat({ busy: 1, idle: 2, prewarmed: 1 }));
    h.registry.heartbeat(two.worker, heartbeat({ busy: 1, prewarmed: 2, draining: true }));
    h.registry.heartbeat(three.worker, heartbeat({ busy: 5, idle: 5, prewarmed: 5 }));
    h.registry.markLost(three.worker, 'stream_closed');

    expect(await sample('taskforge_workers', { status: 'ready' })).toBe(1);
    expect(await sample('taskforge_workers', { status: 'draining' })).toBe(1);
    expect(await sample('taskforge_workers', { status: 'lost' })).toBe(1);
    // A lost worker's last report is not counted: its sandboxes are gone or unreachable.
    expect(await sample('taskforge_sandboxes', { state: 'busy' })).toBe(2);
    expect(await sample('taskforge_sandboxes', { state: 'idle' })).toBe(2);
    expect(await sample('taskforge_sandboxes', { state: 'prewarmed' })).toBe(3);
  });

  it('renders Prometheus text, and stops counting once closed', async () => {
    h = createHarness();
    m = createSchedulerMetrics({ state: h.state, registry: h.registry });
    await h.functions.put('f', { code: CODE }, false);
    h.executions.cancel((await invoke('f')).execution.id);
    const text = await m.text();
    expect(text).toContain('# TYPE taskforge_executions_total counter');
    expect(text).toContain('taskforge_executions_total{function="f",status="cancelled"} 1');
    expect(text).toContain('# TYPE taskforge_execution_duration_seconds histogram');
    expect(text).toContain('taskforge_queue_depth 0');
    m.close();
    m.close();
    h.executions.cancel((await invoke('f')).execution.id);
    expect(await sample('taskforge_executions_total', { function: 'f', status: 'cancelled' })).toBe(1);
  });

  it('counts the executions triggers started, by function and trigger type, once each', async () => {
    h = createHarness();
    m = createSchedulerMetrics({ state: h.state, registry: h.registry });
    await h.functions.put('sub', { code: CODE, triggers: [{ type: 'topic', topic: 'orders' }] }, false);
    const publisher = new TopicPublisher(h.state, h.functions, { maxQueue: 100 });
    await publisher.publish({ topic: 'orders', bodyJson: '{}', cloudEvent: false });
    await publisher.publish({ topic: 'orders', bodyJson: '{}', cloudEvent: false });
    await invoke('sub');
    expect(await sample('taskforge_triggered_executions_total', { function: 'sub', trigger: 'topic' })).toBe(2);
    expect(await sample('taskforge_triggered_executions_total', { function: 'sub', trigger: 'cron' })).toBe(0);
  });

  it('reads circuit states, the result cache and pending deliveries from what the scheduler hands it, when scraped', async () => {
    h = createHarness();
    const circuits = new Map<string, CircuitState>([['f', 'open']]);
    let deliveries = { inFlight: 2, waiting: 5 };
    m = createSchedulerMetrics({
      state: h.state,
      registry: h.registry,
      circuits: () => circuits,
      cache: () => ({ entries: 3, bytes: 120 }),
      deliveries: () => deliveries,
    });
    expect(await sample('taskforge_circuit_state', { function: 'f', state: 'open' })).toBe(1);
    expect(await sample('taskforge_circuit_state', { function: 'f', state: 'closed' })).toBe(0);
    expect(await sample('taskforge_result_cache_entries')).toBe(3);
    expect(await sample('taskforge_result_cache_bytes')).toBe(120);
    expect(await sample('taskforge_deliveries_pending', { state: 'in_flight' })).toBe(2);
    expect(await sample('taskforge_deliveries_pending', { state: 'waiting' })).toBe(5);
    circuits.set('f', 'closed');
    deliveries = { inFlight: 0, waiting: 1 };
    expect(await sample('taskforge_circuit_state', { function: 'f', state: 'closed' })).toBe(1);
    expect(await sample('taskforge_deliveries_pending', { state: 'waiting' })).toBe(1);
  });
});
