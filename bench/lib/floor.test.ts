import { existsSync, readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { floorPids, startFloor, type Floor, type FloorShape } from './floor.js';
import { libChildScript, spawnNode, stopAll } from './proc.js';
import { procStats } from './proc-memory.js';
import { TempDirs } from './testing/temp-dirs.js';

const invoke = async (url: string, event: unknown, mode = 'sync'): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${url}/v1/functions/f/invoke?mode=${mode}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  return { status: res.status, body: await res.json() };
};

const childrenOf = (pid: number): number[] =>
  procStats()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid);
/** A process still in /proc and not a zombie (state is the first field after the command). */
const alive = (pid: number): boolean => procStats().some((p) => p.pid === pid && p.fields[0] !== 'Z');

/** 12 requests at once, more than the floor's sandboxes: each must come back with its own event. */
async function expectEachAnswered(url: string): Promise<void> {
  const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => invoke(url, { n })));
  expect(answers).toEqual(Array.from({ length: 12 }, (_, n) => ({ status: 200, body: { ok: true, echo: { n } } })));
}

let floor: Floor | null = null;
const temp = new TempDirs();
afterEach(async () => {
  await floor?.close();
  floor = null;
  await stopAll();
  await temp.cleanup();
});

describe('design floor', () => {
  it('answers every request with the trivial handler’s output for its own event, queueing past the sandboxes', async () => {
    floor = await startFloor(2, 1);
    expect(floor.procs.map((p) => p.name)).toEqual(['floor scheduler', 'floor worker 1', 'floor worker 2', 'floor gateway']);
    // On 2 sandboxes: the scheduler and the workers queue, and answers find their requests.
    await expectEachAnswered(floor.url);
  });

  it('stops every process it started, the workers’ sandboxes included', async () => {
    floor = await startFloor(1, 2);
    const { procs } = floor;
    const sandboxes = childrenOf(procs[1]!.pid);
    expect(sandboxes).toHaveLength(2);
    await floor.close();
    // The worker reaps its sandboxes before it exits (so their CPU is counted in the bench's tree).
    expect((await procs[1]!.exited).code).toBe(0);
    expect(sandboxes.filter(alive)).toEqual([]);
    await Promise.all(procs.map((p) => p.exited));
  });

  it('takes its worker down when a sandbox dies', async () => {
    floor = await startFloor(1, 2);
    const worker = floor.procs[1]!;
    process.kill(childrenOf(worker.pid)[0]!, 'SIGKILL');
    expect((await worker.exited).code).toBe(1);
    expect(worker.output()).toContain('floor: a sandbox exited (SIGKILL)');
  });

  it('takes down gateway and workers when the scheduler dies, instead of leaving them to hang', async () => {
    floor = await startFloor(1, 1);
    const [scheduler, worker, gateway] = floor.procs;
    scheduler!.child.kill('SIGKILL');
    expect((await worker!.exited).code).toBe(1);
    expect((await gateway!.exited).code).toBe(1);
    expect(gateway!.output()).toMatch(/floor: (stream to the scheduler failed|the scheduler ended the stream)/);
  });

  it('rejects a floor without workers or sandboxes, or of an unknown shape, before starting anything', async () => {
    await expect(startFloor(0, 4)).rejects.toThrow(RangeError);
    await expect(startFloor(2, 1.5)).rejects.toThrow(/floor sandboxes must be a whole number ≥ 1, got 1.5/);
    await expect(startFloor(1, 1, 'triangle' as FloorShape)).rejects.toThrow(
      /floor shape must be one of design, http-in-scheduler, single-process, got triangle/,
    );
    await expect(startFloor(1, 1, 'design', { burn: 0 })).rejects.toThrow(/floor burn must be a whole number ≥ 1, got 0/);
    await expect(startFloor(1, 1, 'single-process', { durableDir: '/tmp/x' })).rejects.toThrow(
      /durableDir needs the design shape and a path, got single-process and '\/tmp\/x'/,
    );
    await expect(startFloor(1, 1, 'design', { durableDir: '' })).rejects.toThrow(/durableDir needs the design shape and a path/);
    expect(procStats().filter((p) => p.ppid === process.pid)).toEqual([]);
  });

  it('exits 2 with its usage when a role is unknown or lacks its arguments', async () => {
    const bad = [['nope'], ['worker', '50051'], ['worker', '50051', '1', '0'], ['worker', '50051', '1', '5', '5'], ['gateway', 'x'], ['gateway', '50051', '1']];
    bad.push(
      ['scheduler', '--https'],
      ['scheduler', '--http', '1'],
      ['scheduler', '--durable'],
      ['scheduler', '--durable', ''],
      ['scheduler', '--http', '--durable', 'd'],
    );
    bad.push(['single'], ['single', '0'], ['single', '2', 'many']);
    for (const args of bad) {
      const p = spawnNode('floor role', [libChildScript('floor-role'), ...args]);
      expect((await p.exited).code).toBe(2);
      expect(p.output()).toContain(
        'usage: floor-role.js scheduler [--http | --durable <dir>] | worker <port> <sandboxes> [<burn>] | gateway <port> | single <sandboxes> [<burn>]',
      );
    }
  });
});

describe('other shapes of the floor', () => {
  it('http-in-scheduler: the scheduler takes the requests itself and answers each with its own event', async () => {
    floor = await startFloor(2, 1, 'http-in-scheduler');
    expect(floor.procs.map((p) => p.name)).toEqual(['floor scheduler', 'floor worker 1', 'floor worker 2']);
    await expectEachAnswered(floor.url);
  });

  it('single-process: one process with workers × sandboxes sandboxes answers each request with its own event', async () => {
    floor = await startFloor(1, 2, 'single-process');
    expect(floor.procs.map((p) => p.name)).toEqual(['floor single']);
    expect(childrenOf(floor.procs[0]!.pid)).toHaveLength(2);
    await expectEachAnswered(floor.url);
  });

  it('single-process: close() reaps its sandboxes, and a dead sandbox takes it down', async () => {
    floor = await startFloor(2, 1, 'single-process');
    const [single] = floor.procs;
    const sandboxes = childrenOf(single!.pid);
    expect(sandboxes).toHaveLength(2);
    await floor.close();
    expect((await single!.exited).code).toBe(0);
    expect(sandboxes.filter(alive)).toEqual([]);

    floor = await startFloor(1, 2, 'single-process');
    const [next] = floor.procs;
    process.kill(childrenOf(next!.pid)[0]!, 'SIGKILL');
    expect((await next!.exited).code).toBe(1);
    expect(next!.output()).toContain('floor: a sandbox exited (SIGKILL)');
  });

  it('http-in-scheduler: workers go down with the scheduler', async () => {
    floor = await startFloor(1, 1, 'http-in-scheduler');
    const [scheduler, worker] = floor.procs;
    scheduler!.child.kill('SIGKILL');
    expect((await worker!.exited).code).toBe(1);
  });
});

describe('the floor with the CPU-bound handler', () => {
  // A CPU-bound answer: the loop's result and the CPU it took in the sandbox, not the echo.
  const burnt = { status: 200, body: { x: expect.any(Number), cpuMs: expect.any(Number) } };

  it('design: its sandboxes run the burn handler, and its roles are read by pid like a stack’s', async () => {
    floor = await startFloor(2, 1, 'design', { burn: 1000 });
    const [scheduler, worker1, worker2, gateway] = floor.procs;
    expect(floorPids(floor)).toEqual({ gateway: gateway!.pid, scheduler: scheduler!.pid, workers: [worker1!.pid, worker2!.pid] });
    expect(await Promise.all(Array.from({ length: 4 }, () => invoke(floor!.url, { n: 1 })))).toEqual(Array(4).fill(burnt));
  });

  it('single-process: its sandboxes run the burn handler too', async () => {
    floor = await startFloor(1, 2, 'single-process', { burn: 1000 });
    expect(await invoke(floor.url, { n: 1 })).toEqual(burnt);
  });

  it('floorPids refuses a shape without its own gateway and scheduler', async () => {
    floor = await startFloor(1, 1, 'http-in-scheduler');
    expect(() => floorPids(floor!)).toThrow(/only the design shape has a gateway and a scheduler of its own/);
  });
});

describe('the async floor (design shape with a durable dir)', () => {
  const journal = (dir: string): string => readFileSync(join(dir, 'journal.log'), 'utf8');

  it('answers an async invoke 202 only once its journal entry is written, then runs it and writes its file', async () => {
    const dir = await temp.dir();
    floor = await startFloor(1, 1, 'design', { durableDir: dir });
    const accepted = await invoke(floor.url, { n: 7 }, 'async');
    // Read the moment the 202 is here: the entry must already be in the journal.
    const atAccept = journal(dir);
    expect(accepted).toEqual({ status: 202, body: { executionId: 'ex_1' } });
    expect(JSON.parse(atAccept.split('\n')[0]!)).toMatchObject({ id: 1, status: 'queued', input: '{"n":7}' });
    // The sync invoke after it runs after it on the one sandbox: by its answer the first has run.
    expect(await invoke(floor.url, { n: 8 })).toEqual({ status: 200, body: { ok: true, echo: { n: 8 } } });
    await expect.poll(() => existsSync(join(dir, 'executions', 'ex_1.json'))).toBe(true);
    const record = JSON.parse(readFileSync(join(dir, 'executions', 'ex_1.json'), 'utf8'));
    expect(record).toMatchObject({ id: 'ex_1', status: 'succeeded', output: '{"ok":true,"echo":{"n":7}}' });
    expect(existsSync(join(dir, 'executions', 'ex_2.json'))).toBe(false); // a sync invoke keeps no file
  });

  it('without a durable dir, an async invoke is forwarded and answered like a sync one', async () => {
    floor = await startFloor(1, 1);
    expect(await invoke(floor.url, { n: 3 }, 'async')).toEqual({ status: 200, body: { ok: true, echo: { n: 3 } } });
  });

  it('fails to start, saying why, when the durable dir cannot hold a journal', async () => {
    const file = join(await temp.dir(), 'not-a-dir');
    await writeFile(file, '');
    await expect(startFloor(1, 1, 'design', { durableDir: file })).rejects.toThrow(/cannot keep a journal in .*not-a-dir/);
  });

  it('exits 1, saying why, when the journal cannot be written', async () => {
    const dir = await temp.dir();
    await symlink('/dev/full', join(dir, 'journal.log'));
    floor = await startFloor(1, 1, 'design', { durableDir: dir });
    const scheduler = floor.procs[0]!;
    await fetch(`${floor.url}/v1/functions/f/invoke?mode=async`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }).catch(
      () => undefined,
    );
    expect((await scheduler.exited).code).toBe(1);
    expect(scheduler.output()).toContain('floor: journal write failed');
  });

  it('exits 1, saying why, when an execution file cannot be written', async () => {
    const dir = await temp.dir();
    await mkdir(join(dir, 'executions', 'ex_1.json'), { recursive: true }); // a directory where the file goes
    floor = await startFloor(1, 1, 'design', { durableDir: dir });
    const scheduler = floor.procs[0]!;
    expect((await invoke(floor.url, {}, 'async')).status).toBe(202);
    expect((await scheduler.exited).code).toBe(1);
    expect(scheduler.output()).toContain('floor: execution file write failed');
  });
});
