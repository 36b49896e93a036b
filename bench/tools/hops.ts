/**
 * Where the latency of one warm sync invoke goes: starts a stack with hop tracing on
 * (TASKFORGE_TRACE_FILE, common/diagnostics.ts (hop marks) and common/hop-trace-file.ts (the file subscriber)), sends sequential sync invokes of the trivial
 * handler over one keep-alive connection, and prints the median time between consecutive marks:
 * client → gateway → scheduler → worker → sandbox and back. Usage:
 *   node dist/bench/tools/hops.js [invokes, default 500] [--cold] [--pace ms]
 * `--cold` registers a fresh function before each invoke (not timed), so every invoke is a cold
 * start on the prewarmed pool, as in the cold-start scenario; `--pace` waits that long before each
 * timed invoke (default 250 ms with --cold, 0 without), which shows what an idle stack adds.
 * Marks carry wall-clock epoch time, shared by all processes of the host. The sandbox itself is
 * not traced (it sees no environment and may not write files): `W2 → W3` is the IPC round trip
 * with the handler's run inside it.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_BODY, TRIVIAL_CODE } from '../lib/handlers.js';
import { authHeaders, putFunction } from '../lib/http.js';
import { startStack } from '../lib/stack.js';
import { median } from '../lib/stats.js';

const FN = 'bench-hops';
const WARMUP = 300;
const now = (): number => performance.timeOrigin + performance.now();

interface Mark {
  t: number;
  what: string;
}

function post(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', ...authHeaders(new URL(url).origin) };
    const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(EVENT_BODY);
  });
}

/** Median of every `from → to` step, in the order the steps first appear. */
function steps(windows: Mark[][]): { step: string; ms: number; n: number }[] {
  const byStep = new Map<string, number[]>();
  for (const marks of windows) {
    for (let i = 1; i < marks.length; i++) {
      const key = `${marks[i - 1]!.what} → ${marks[i]!.what}`;
      let list = byStep.get(key);
      if (!list) byStep.set(key, (list = []));
      list.push(marks[i]!.t - marks[i - 1]!.t);
    }
  }
  return [...byStep].map(([step, ms]) => ({ step, ms: median(ms), n: ms.length }));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const cold = args.includes('--cold');
  const paceAt = args.indexOf('--pace');
  const paceMs = paceAt >= 0 ? Number(args[paceAt + 1]) : cold ? 250 : 0;
  const invokes = Number(args.find((a, i) => !a.startsWith('--') && !(paceAt >= 0 && i === paceAt + 1)) ?? (cold ? 30 : 500));
  if (!Number.isInteger(invokes) || invokes < 1 || !Number.isFinite(paceMs) || paceMs < 0) {
    throw new Error('usage: hops.js [invokes ≥ 1] [--cold] [--pace ms ≥ 0]');
  }
  const traceFile = join(tmpdir(), `taskforge-hops-${process.pid}.trace`);
  await writeFile(traceFile, '');
  // Inherited by every process of the stack (not by sandboxes: they get a clean environment).
  process.env.TASKFORGE_TRACE_FILE = traceFile;
  const stack = await startStack({ workers: cold ? 1 : 2, capacity: 4 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const invokeUrl = (fn: string): string => `${stack.url}/v1/functions/${fn}/invoke?mode=sync`;
  const url = invokeUrl(FN);
  try {
    await putFunction(stack.url, FN, TRIVIAL_CODE);
    for (let i = 0; i < WARMUP; i++) await post(agent, url);
    await new Promise((r) => setTimeout(r, 600)); // past the trace's 250 ms flush: warm-up marks are written
    await writeFile(traceFile, '');
    const requests: { start: number; end: number }[] = [];
    for (let i = 0; i < invokes; i++) {
      let target = url;
      if (cold) {
        const fn = `${FN}-cold-${i}`;
        await putFunction(stack.url, fn, `${TRIVIAL_CODE}// ${fn}\n`); // distinct code: nothing cached by hash
        target = invokeUrl(fn);
      }
      if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
      const start = now();
      const status = await post(agent, target);
      const end = now();
      if (status !== 200) throw new Error(`invoke answered ${status}`);
      requests.push({ start, end });
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 600));
    const marks: Mark[] = (await readFile(traceFile, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const space = line.indexOf(' ');
        return { t: Number(line.slice(0, space)), what: line.slice(space + 1) };
      })
      .sort((a, b) => a.t - b.t);
    // Each request's window runs from its start to the next one's; marks after `end` (onResponse) stay in it.
    const windows = requests.map((r, i) => {
      const until = requests[i + 1]?.start ?? Infinity;
      const inside = marks.filter((m) => m.t >= r.start && m.t < until);
      return [{ t: r.start, what: 'client send' }, ...inside.filter((m) => m.t <= r.end), { t: r.end, what: 'client receive' }];
    });
    const total = median(requests.map((r) => r.end - r.start));
    const rows = steps(windows).filter((s) => s.n >= invokes / 2);
    const kind = `${cold ? 'cold' : 'warm'}${paceMs > 0 ? `, ${paceMs} ms apart` : ''}`;
    console.log(`${invokes} sequential sync invokes (${kind}), p50 ${total.toFixed(3)} ms; median per step (steps seen in ≥ half the invokes):`);
    for (const s of rows) console.log(`  ${s.ms.toFixed(3).padStart(7)} ms  ${s.step}${s.n < invokes ? `  (${s.n} of ${invokes})` : ''}`);
    console.log(
      `  ${rows
        .reduce((a, s) => a + s.ms, 0)
        .toFixed(3)
        .padStart(7)} ms  sum of the medians`,
    );
  } finally {
    agent.destroy();
    await stack.close();
    await rm(traceFile, { force: true });
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(1);
});
