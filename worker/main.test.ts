/**
 * startWorker end to end: the real sandbox pool behind the agent, a scripted scheduler in front.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from './main.js';
import { defaultRuntimePath } from './sandbox/pool-options.js';
import { execute } from './testing/fixtures.js';
import { ScriptedScheduler } from './testing/scripted-scheduler.js';

let scheduler: ScriptedScheduler | null = null;
let worker: RunningWorker | null = null;

afterEach(async () => {
  await worker?.close();
  await scheduler?.close();
  worker = null;
  scheduler = null;
});

// The sandbox runs compiled JavaScript; without a build there is nothing real to start.
describe.skipIf(!existsSync(defaultRuntimePath()))('startWorker', () => {
  it('runs an execution on the real sandbox pool and drains on close()', async () => {
    scheduler = await ScriptedScheduler.start();
    worker = await startWorker({ schedulerAddress: scheduler.address, capacity: 1, poolOptions: { prewarm: 0 } });
    const stream = await scheduler.stream(0);
    expect((await stream.waitFor('hello')).workerId).toBe(worker.id);

    const code = 'export default async (event) => ({ doubled: event.x * 2 })';
    const msg = execute('e1', { code, input: '{"x":21}' });
    if (msg?.$case === 'execute') msg.value.function!.codeSha256 = createHash('sha256').update(code).digest('hex');
    stream.send(msg);
    const result = await stream.waitFor('result', () => true, 15_000);
    expect(result).toMatchObject({ executionId: 'e1', lease: 'l-e1', ok: true });
    expect(JSON.parse(result.outputJson)).toEqual({ doubled: 42 });

    await worker.close();
    await stream.closed;
    await worker.closed;
  });
});
