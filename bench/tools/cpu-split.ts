/**
 * Where the CPU of an async burst goes, process by process: starts a stack, warms it up, sends N
 * async invokes of the trivial handler over 50 connections, waits until every one has finished,
 * and prints the CPU each part used per execution, from /proc (user + system time): gateway,
 * scheduler (its main thread, and its other threads: the file writer and libuv's pool), workers,
 * their sandboxes (the workers' children) and this process, the load generator. Usage:
 *   node dist/bench/tools/cpu-split.js [invokes, default 10000] [--capacity n, default 4]
 * The data dir is made under the OS temp dir: `TMPDIR=/dev/shm` puts it on tmpfs, which takes the
 * disk's price of creating files out of the figures.
 */
import { EVENT_BODY, TRIVIAL_CODE } from '../lib/handlers.js';
import { invokeSync, putFunction, sleep, terminalCount } from '../lib/http.js';
import { describeLoad, runLoad } from '../lib/load.js';
import { cpuPerExecution, readRoleCpu } from '../lib/role-cpu.js';
import { startStack } from '../lib/stack.js';

const FN = 'bench-cpu-split';
const CONNECTIONS = 50;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const capAt = args.indexOf('--capacity');
  const capacity = capAt >= 0 ? Number(args[capAt + 1]) : 4;
  const invokes = Number(args.find((a, i) => /^\d+$/.test(a) && (capAt < 0 || i !== capAt + 1)) ?? 10_000);
  if (!Number.isInteger(capacity) || capacity < 1 || !Number.isInteger(invokes) || invokes < 1) {
    throw new Error('usage: cpu-split.js [invokes] [--capacity n]');
  }
  const stack = await startStack({ workers: 2, capacity });
  try {
    await putFunction(stack.url, FN, TRIVIAL_CODE);
    await invokeSync(stack.url, FN);
    await runLoad({ url: stack.url, path: `/v1/functions/${FN}/invoke?mode=sync`, body: EVENT_BODY, connections: 16, durationSeconds: 2, expectStatus: 200 });
    const roles = { gateway: stack.gateway.pid, scheduler: stack.scheduler.proc.pid, workers: stack.workers.map((w) => w.pid) };
    const before = await terminalCount(stack.url);
    const start = readRoleCpu(roles);
    const startedAt = performance.now();
    const r = await runLoad({
      url: stack.url,
      path: `/v1/functions/${FN}/invoke`,
      body: EVENT_BODY,
      connections: CONNECTIONS,
      amount: invokes,
      maxSeconds: 120,
      expectStatus: 202,
    });
    while ((await terminalCount(stack.url)) - before < r.ok) await sleep(50);
    const seconds = (performance.now() - startedAt) / 1000;
    const end = readRoleCpu(roles);
    console.log(`accept: ${describeLoad(r)}`);
    console.log(
      `${r.ok} executions finished in ${seconds.toFixed(2)} s → ${Math.round(r.ok / seconds)}/s, capacity ${capacity} × 2 workers, data in ${stack.dataDir}`,
    );
    let total = 0;
    for (const { part, us } of cpuPerExecution(start, end, r.ok)) {
      total += us;
      console.log(`${part.padEnd(26)} ${us.toFixed(0).padStart(6)} µs CPU per execution`);
    }
    console.log(`${'total'.padEnd(26)} ${total.toFixed(0).padStart(6)} µs CPU per execution (${((total * r.ok) / 1e6 / seconds).toFixed(2)} CPUs busy)`);
  } finally {
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
