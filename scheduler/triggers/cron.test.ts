import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseSchedule } from '../../common/cron-schedule.js';
import { silentLogger } from '../../common/logger.js';
import type { Execution } from '../../common/records.js';
import { createHarness, type Harness } from '../testing/harness.js';
import { MemoryStore } from '../testing/memory-store.js';
import type { CronMark, CronStateFile } from '../store/cron-state-file.js';
import { CronScheduler, RETRY_MS, cronTriggerKey } from './cron.js';
import { dueTick, nextDue, tickIdempotencyKey } from './cron-plan.js';

const CODE = 'export default async (e) => e';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');

/** A state file in memory that can be told to fail its writes. */
function memoryFile(): CronStateFile & { marks: Map<string, CronMark>; writes: number; fail: boolean } {
  const f = {
    path: 'cron-state.json',
    marks: new Map<string, CronMark>(),
    writes: 0,
    fail: false,
    async read() {
      return new Map([...f.marks].map(([k, m]) => [k, { ...m }] as const));
    },
    async write(marks: ReadonlyMap<string, CronMark>) {
      if (f.fail) throw new Error('EIO');
      f.writes += 1;
      f.marks = new Map([...marks].map(([k, m]) => [k, { ...m }] as const));
    },
  };
  return f;
}

let h: Harness | undefined;
let cron: CronScheduler | undefined;

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(async () => {
  await cron?.close();
  h?.close();
  cron = undefined;
  h = undefined;
  vi.useRealTimers();
});

const cronExecutions = (store: MemoryStore): Execution[] =>
  [...store.executions.values()].filter((e) => e.trigger?.type === 'cron').sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
const ticks = (store: MemoryStore): string[] => cronExecutions(store).map((e) => (e.trigger as { tick: string }).tick);

/** A scheduler "process": a harness over `store`, a cron scheduler over `file`. */
async function boot(store: MemoryStore, file: CronStateFile): Promise<void> {
  h = createHarness({ store, now: () => Date.now() });
  h.functions.load([...store.functions.values()]);
  h.state.index.load([...store.executions.values()].map((e) => structuredClone(e)));
  cron = new CronScheduler({ state: h.state, functions: h.functions, file, log: silentLogger, now: () => Date.now() });
  await cron.start();
}

async function stop(): Promise<void> {
  await cron?.close();
  h?.close();
  cron = undefined;
  h = undefined;
}

describe('cron plan', () => {
  const every5s = parseSchedule('*/5 * * * * *');
  it('the due tick is the latest one in (after, now]: one run however many were missed', () => {
    expect(dueTick(every5s, T0, T0)).toBeNull();
    expect(dueTick(every5s, T0, T0 + 4_999)).toBeNull();
    expect(dueTick(every5s, T0, T0 + 5_000)).toBe(T0 + 5_000);
    expect(dueTick(every5s, T0, T0 + 5_001)).toBe(T0 + 5_000);
    expect(dueTick(every5s, T0, T0 + 3_600_000 + 2_000)).toBe(T0 + 3_600_000);
  });
  it('the next tick is strictly after the mark; the key names trigger and tick', () => {
    expect(nextDue(every5s, T0)).toBe(T0 + 5_000);
    expect(nextDue(every5s, T0 + 1)).toBe(T0 + 5_000);
    expect(tickIdempotencyKey('f:0123456789abcdef', T0)).toBe('cron:f:0123456789abcdef:2026-03-01T10:00:00.000Z');
  });
  it('reads 5-field schedules in their timezone', () => {
    const nineInParis = parseSchedule('0 9 * * *', 'Europe/Paris');
    // 1 March 2026: Paris is UTC+1.
    expect(new Date(nineInParis.nextAfter(T0)!).toISOString()).toBe('2026-03-02T08:00:00.000Z');
    expect(new Date(parseSchedule('0 9 * * *').nextAfter(T0)!).toISOString()).toBe('2026-03-02T09:00:00.000Z');
  });
  it('a trigger key depends on content, not position', () => {
    expect(cronTriggerKey('f', { type: 'cron', schedule: '* * * * *' })).toBe(cronTriggerKey('f', { type: 'cron', schedule: '* * * * *' }));
    expect(cronTriggerKey('f', { type: 'cron', schedule: '* * * * *' })).not.toBe(cronTriggerKey('f', { type: 'cron', schedule: '* * * * *', input: 1 }));
    expect(cronTriggerKey('f', { type: 'cron', schedule: '* * * * *' })).toMatch(/^f:[0-9a-f]{16}$/);
  });
});

describe('cron scheduler', () => {
  it('fires one durable execution per tick with its input, pinned to the latest version, and records the tick', async () => {
    const store = new MemoryStore();
    const file = memoryFile();
    await boot(store, file);
    await h!.functions.put('tick', { code: CODE, triggers: [{ type: 'cron', schedule: '*/10 * * * * *', input: { hello: 1 } }] }, false);
    expect(cron!.nextAt('tick', { type: 'cron', schedule: '*/10 * * * * *', input: { hello: 1 } })).toBe('2026-03-01T10:00:10.000Z');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(ticks(store)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(ticks(store)).toEqual(['2026-03-01T10:00:10.000Z', '2026-03-01T10:00:20.000Z', '2026-03-01T10:00:30.000Z']);
    const [first] = cronExecutions(store);
    expect(first).toMatchObject({ function: 'tick', version: 1, mode: 'async', input: { hello: 1 }, status: 'queued' });
    expect(first!.idempotencyKey).toMatch(/^cron:tick:[0-9a-f]{16}:2026-03-01T10:00:10.000Z$/);
    expect(store.durableIds).toContain(first!.id);
    await vi.advanceTimersByTimeAsync(0);
    expect([...file.marks.values()][0]!.afterMs).toBe(T0 + 30_000);
    expect(cron!.nextAt('tick', { type: 'cron', schedule: '*/10 * * * * *', input: { hello: 1 } })).toBe('2026-03-01T10:00:40.000Z');
  });

  it('after downtime, one catch-up run for the latest missed tick, then on schedule', async () => {
    const store = new MemoryStore();
    const file = memoryFile();
    await boot(store, file);
    await h!.functions.put('tick', { code: CODE, triggers: [{ type: 'cron', schedule: '0 * * * * *' }] }, false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z']);
    await stop();
    vi.setSystemTime(T0 + 10 * 60_000 + 30_000); // down for 9.5 minutes: nine ticks missed
    await boot(store, file);
    await vi.advanceTimersByTimeAsync(0);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z', '2026-03-01T10:10:00.000Z']);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z', '2026-03-01T10:10:00.000Z', '2026-03-01T10:11:00.000Z']);
  });

  it('a crash after the execution is durable but before the tick is recorded does not run the tick twice', async () => {
    const store = new MemoryStore();
    const file = memoryFile();
    await boot(store, file);
    await h!.functions.put('tick', { code: CODE, triggers: [{ type: 'cron', schedule: '0 * * * * *' }] }, false);
    await vi.advanceTimersByTimeAsync(0);
    file.fail = true; // the tick's mark never reaches the file
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z']);
    expect([...file.marks.values()][0]!.afterMs).toBe(T0);
    await stop();
    file.fail = false;
    vi.setSystemTime(T0 + 60_500);
    await boot(store, file);
    await vi.advanceTimersByTimeAsync(0);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z']);
    // …and the tick is now recorded, so the next one is the next minute.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z', '2026-03-01T10:02:00.000Z']);
  });

  it('a tick whose execution cannot be stored is retried, not skipped', async () => {
    const store = new MemoryStore();
    const file = memoryFile();
    await boot(store, file);
    await h!.functions.put('tick', { code: CODE, triggers: [{ type: 'cron', schedule: '0 * * * * *' }] }, false);
    store.failDurable = 'EIO';
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ticks(store)).toEqual([]);
    store.failDurable = null;
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z']);
  });

  it('a new trigger counts from when it is first seen; a removed one stops and is forgotten', async () => {
    const store = new MemoryStore();
    const file = memoryFile();
    await boot(store, file);
    vi.setSystemTime(T0 + 30_000);
    await h!.functions.put('tick', { code: CODE, triggers: [{ type: 'cron', schedule: '0 * * * * *' }] }, false);
    await vi.advanceTimersByTimeAsync(0);
    expect(ticks(store)).toEqual([]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z']);
    await h!.functions.put('tick', { code: CODE }, false);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z']);
    expect(file.marks.size).toBe(0);
    expect(cron!.nextAt('tick', { type: 'cron', schedule: '0 * * * * *' })).toBeNull();
  });

  it("an invoke that borrows a tick's idempotency key does not stop the tick", async () => {
    const store = new MemoryStore();
    const file = memoryFile();
    await boot(store, file);
    const spec = { type: 'cron', schedule: '0 * * * * *' } as const;
    await h!.functions.put('tick', { code: CODE, triggers: [spec] }, false);
    const key = tickIdempotencyKey(cronTriggerKey('tick', spec), T0 + 60_000);
    await h!.executions.invoke({ function: 'tick', version: 0, inputJson: '1', mode: 'async', idempotencyKey: key, waitMs: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ticks(store)).toEqual(['2026-03-01T10:01:00.000Z']);
  });

  it('ticks of several triggers due at once share one durable commit', async () => {
    const store = new MemoryStore();
    const file = memoryFile();
    await boot(store, file);
    await h!.functions.put('a', { code: CODE, triggers: [{ type: 'cron', schedule: '0 * * * * *' }] }, false);
    await h!.functions.put('b', { code: CODE, triggers: [{ type: 'cron', schedule: '* * * * *', timezone: 'Asia/Tokyo' }] }, false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(store.durableBatches).toHaveLength(1);
    expect(store.durableBatches[0]).toHaveLength(2);
  });
});
