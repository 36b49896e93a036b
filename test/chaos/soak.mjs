#!/usr/bin/env node
/**
 * Soak under chaos (`make chaos`; minutes, not part of `make test`). A real scheduler, gateway
 * and 3 workers run as separate processes from dist/. A mixed load of async invokes (fast, slow,
 * failing-then-succeeding, CPU-bound) is submitted at a steady pace while workers are SIGKILLed
 * at random and restarted. At the end every accepted execution is waited for, the stack is
 * stopped cleanly, and a checker reads every execution record the scheduler stored and prints:
 *
 *   accepted    ids answered 202
 *   terminal    accepted ids whose stored record is succeeded / failed / timed_out / cancelled
 *   lost        accepted ids with no stored record, or one that is not terminal after the final wait
 *   duplicated  accepted ids that completed more than once: the record's `attempts` list two
 *               attempts that finished without error, or the scheduler's execution event stream
 *               (WatchEvents, watched for the whole run) carried two terminal events for the id
 *
 * Part of the load is delayed (`?delayMs=`, with a random priority) and some of it comes in
 * delayed batches (invoke-batch), and the scheduler itself is SIGKILLed and restarted on its
 * port a few times: delayed executions pending in it must each still run once, and never before
 * their scheduledFor (`early`). Terminal events are counted per scheduler generation (a change
 * not yet durable when the scheduler died may be seen again by watchers after it restarts; the
 * records' attempts are what says an execution completed twice).
 *
 * Workflow runs go along (soak-workflows.mjs): none lost, no step run twice.
 *
 * It exits 1 when lost, duplicated or early is not 0, or a workflow check fails. Settings (environment): SOAK_EXECUTIONS (5000),
 * SOAK_SUBMIT_SECONDS (75), SOAK_MIN_KILLS (10), SOAK_WORKERS (3), SOAK_CAPACITY (4), SOAK_SEED,
 * SOAK_DELAYED (share of delayed invokes, 0.2), SOAK_BATCH_EVERY (a delayed batch of 20 every this
 * many invokes, 500), SOAK_SCHEDULER_KILLS (2).
 * It never touches ./data: the stack gets its own temp data dir, removed unless SOAK_KEEP=1.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { checkWorkflows, setupWorkflows, startRuns, waitRuns } from './soak-workflows.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { Client, Metadata, credentials } = await import('@grpc/grpc-js');
const { children, component, createHttp, mapLimit, prng, sleep, stop } = await import('./processes.mjs');
const { ControlServiceService } = await import(pathToFileURL(join(ROOT, 'dist', 'proto', 'gen', 'taskforge', 'v1', 'control.js')).href);

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const EXECUTIONS = env('SOAK_EXECUTIONS', 5000);
const SUBMIT_MS = env('SOAK_SUBMIT_SECONDS', 75) * 1000;
const MIN_KILLS = env('SOAK_MIN_KILLS', 10);
const WORKERS = env('SOAK_WORKERS', 3);
const CAPACITY = env('SOAK_CAPACITY', 4);
const SEED = env('SOAK_SEED', Date.now() % 1_000_000);
const DELAYED = env('SOAK_DELAYED', 0.2);
const BATCH_EVERY = env('SOAK_BATCH_EVERY', 500);
const BATCH_SIZE = 20;
const SCHEDULER_KILLS = env('SOAK_SCHEDULER_KILLS', 2);
const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const FINAL_WAIT_MS = 300_000;
const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);

const rand = prng(SEED);
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const log = (msg) => process.stderr.write(`[soak ${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
const T0 = Date.now();

const FUNCTIONS = {
  fast: { code: 'export default async (e) => ({ k: e.k })' },
  slow: { code: 'export default async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return { k: e.k } }' },
  flaky: {
    code: 'export default async (e, ctx) => { if (ctx.attempt === 1) throw new Error("first attempt fails"); return { k: e.k } }',
    maxRetries: 3,
  },
  cpu: { code: 'export default async (e) => { const end = Date.now() + e.ms; let n = 0; while (Date.now() < end) n++; return { k: e.k } }' },
};
/** Share of each kind in the load. */
const MIX = [
  ['fast', 0.4],
  ['slow', 0.2],
  ['flaky', 0.25],
  ['cpu', 0.15],
];
function pickKind() {
  let r = rand();
  for (const [kind, share] of MIX) if ((r -= share) < 0) return kind;
  return 'fast';
}
function inputFor(kind, k) {
  if (kind === 'slow') return { k, ms: between(100, 500) };
  if (kind === 'cpu') return { k, ms: between(20, 60) };
  return { k };
}

/** Terminal events per execution id, from the scheduler's event stream for the whole run. */
function watchEvents(address, controlToken) {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${controlToken}`);
  const def = ControlServiceService.watchEvents;
  /** id → terminal events seen, per scheduler generation (`state.generation`). */
  const terminalEvents = new Map();
  const state = { streams: 0, gaps: 0, closed: false, events: 0, lastSeq: 0, timer: null, generation: 0 };
  const open = () => {
    state.timer = null;
    state.streams += 1;
    // A reconnect resumes after the last change seen, from the scheduler's buffer; only a reset
    // (the buffer no longer reaches back, or the scheduler restarted) is a gap.
    const request = { function: '', executionId: '', afterSeq: state.lastSeq, functions: [] };
    const call = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, metadata.clone(), {});
    call.on('data', (e) => {
      if (e.reset) {
        state.gaps += 1;
        return;
      }
      state.events += 1;
      state.lastSeq = e.seq;
      if (TERMINAL.has(e.status)) {
        const key = `${state.generation}:${e.executionId}`;
        terminalEvents.set(key, (terminalEvents.get(key) ?? 0) + 1);
      }
    });
    call.on('error', () => undefined);
    call.on('status', () => {
      if (state.closed) return;
      state.timer = setTimeout(open, 100);
    });
    state.call = call;
  };
  open();
  return {
    terminalEvents,
    state,
    close() {
      state.closed = true;
      if (state.timer) clearTimeout(state.timer);
      state.call?.cancel();
      client.close();
    },
  };
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'taskforge-soak-'));
  log(`seed ${SEED}; ${EXECUTIONS} executions over ${SUBMIT_MS / 1000} s; ${WORKERS} workers × ${CAPACITY}; data in ${dataDir}`);

  // Every server listens on port 0 and says in its "listening" line which port it got.
  const schedulerArgs = (port) => ['scheduler', '--grpc-port', String(port), '--data-dir', dataDir, '--log-level', 'info'];
  let scheduler = component('scheduler', schedulerArgs(0), /"msg":"scheduler listening"/);
  const schedulerPort = JSON.parse(await scheduler.ready).port;
  const address = `127.0.0.1:${schedulerPort}`;
  // Wired like `taskforge dev`: the tokens the scheduler wrote into its data dir.
  const joinTokenFile = join(dataDir, 'join.token');
  const controlTokenFile = join(dataDir, 'control.token');
  const http = createHttp((await readFile(join(dataDir, 'admin.key'), 'utf8')).trim());
  const events = watchEvents(address, readFileSync(controlTokenFile, 'utf8').trim());
  const gateway = component(
    'gateway',
    ['gateway', '--port', '0', '--scheduler', address, '--control-token-file', controlTokenFile, '--log-level', 'info'],
    /"msg":"gateway listening"/,
  );
  const base = JSON.parse(await gateway.ready).url;

  let generation = 0;
  const startWorker = async (slot) => {
    const name = `soak-w${slot}-g${++generation}`;
    const w = component(
      name,
      ['worker', '--scheduler', address, '--join-token-file', joinTokenFile, '--capacity', String(CAPACITY), '--name', name, '--log-level', 'info'],
      /"msg":"welcomed"/,
    );
    await w.ready;
    return w;
  };
  const workers = [];
  for (let i = 0; i < WORKERS; i++) workers[i] = await startWorker(i);

  for (const [name, spec] of Object.entries(FUNCTIONS)) {
    const r = await http(base, 'PUT', `/v1/functions/${name}`, spec);
    if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  }

  await setupWorkflows(http, base);
  const workflowLoad = startRuns(http, base, SUBMIT_MS, sleep);

  // --- load ---
  const accepted = new Map(); // id → { kind, k, delayed }
  const refused = new Map(); // status → count
  let batches = 0;
  let submitting = true;
  const submitStart = Date.now();
  const load = (async () => {
    const jobs = Array.from({ length: EXECUTIONS }, (_, k) => ({ k, kind: pickKind() }));
    for (const job of jobs) {
      job.input = inputFor(job.kind, job.k);
      job.delayed = rand() < DELAYED;
    }
    await mapLimit(jobs, 32, async (job) => {
      const due = submitStart + (job.k * SUBMIT_MS) / EXECUTIONS;
      if (due > Date.now()) await sleep(due - Date.now());
      const query = job.delayed ? `?delayMs=${between(200, 5_000)}&priority=${PRIORITIES[between(0, 3)]}` : '';
      const r = await http(base, 'POST', `/v1/functions/${job.kind}/invoke${query}`, job.input);
      if (r.status === 202) accepted.set(r.body.executionId, job);
      else refused.set(r.status, (refused.get(r.status) ?? 0) + 1);
      if (BATCH_EVERY > 0 && job.k % BATCH_EVERY === BATCH_EVERY - 1) {
        // A delayed batch of fast events, with ks after the single invokes' ones.
        const first = EXECUTIONS + batches++ * BATCH_SIZE;
        const ks = Array.from({ length: BATCH_SIZE }, (_, j) => first + j);
        const b = await http(base, 'POST', `/v1/functions/fast/invoke-batch?delayMs=${between(200, 5_000)}`, { events: ks.map((k) => ({ k })) });
        if (b.status === 202) b.body.executions.forEach(({ executionId }, j) => accepted.set(executionId, { k: ks[j], kind: 'fast', delayed: true }));
        else refused.set(b.status, (refused.get(b.status) ?? 0) + BATCH_SIZE);
      }
      if ((job.k + 1) % 1000 === 0) log(`${job.k + 1} submitted, ${accepted.size} accepted`);
    });
    submitting = false;
  })();

  // --- chaos ---
  let kills = 0;
  let restarts = 0;
  const restarting = new Set();
  const chaos = (async () => {
    while (submitting || kills < MIN_KILLS) {
      await sleep(between(2_000, 5_000));
      const slot = between(0, WORKERS - 1);
      const victim = workers[slot];
      if (!victim || restarting.has(slot)) continue;
      victim.proc.kill('SIGKILL');
      kills += 1;
      log(`kill #${kills}: ${victim.label} (pid ${victim.proc.pid})`);
      restarting.add(slot);
      const r = (async () => {
        await victim.exited;
        await sleep(between(300, 2_000));
        workers[slot] = await startWorker(slot);
        restarts += 1;
        restarting.delete(slot);
      })();
      r.catch((err) => log(`restart failed: ${err.message}`));
    }
    while (restarting.size > 0) await sleep(100);
  })();

  // --- the scheduler itself: SIGKILLed and restarted on its port, spread over the submission ---
  let schedulerKills = 0;
  const schedulerChaos = (async () => {
    for (let i = 0; i < SCHEDULER_KILLS; i++) {
      await sleep(SUBMIT_MS / (SCHEDULER_KILLS + 1));
      scheduler.proc.kill('SIGKILL');
      await scheduler.exited;
      schedulerKills += 1;
      log(`scheduler kill #${schedulerKills}`);
      await sleep(between(500, 2_000));
      events.state.generation += 1;
      scheduler = component('scheduler', schedulerArgs(schedulerPort), /"msg":"scheduler listening"/);
      await scheduler.ready;
    }
  })();

  await load;
  await schedulerChaos;
  const submitted = Date.now();
  log(`submission done: ${accepted.size} accepted in ${((submitted - submitStart) / 1000).toFixed(1)} s`);
  await chaos;
  log(`chaos done: ${kills} kills, ${restarts} restarts`);

  // --- final wait: every accepted id terminal, through the API ---
  const waitEnd = Date.now() + FINAL_WAIT_MS;
  const notTerminal = new Set(accepted.keys());
  await mapLimit([...accepted.keys()], 64, async (id) => {
    while (Date.now() < waitEnd) {
      const r = await http(base, 'GET', `/v1/executions/${id}?waitMs=25000`);
      if (r.status === 200 && TERMINAL.has(r.body.status)) {
        notTerminal.delete(id);
        return;
      }
      if (r.status !== 200) await sleep(200);
    }
  });
  const runs = await workflowLoad;
  const runsRunning = await waitRuns(http, base, runs.accepted, waitEnd, sleep);
  const drained = Date.now();
  log(`final wait done: ${notTerminal.size} not terminal, ${runsRunning.size} workflow runs not finished`);
  // Late duplicates would show up as events shortly after; give the stream a moment to deliver.
  await sleep(2_000);
  events.close();

  // --- clean stop: workers, then gateway, then scheduler (which writes everything out) ---
  await Promise.all(workers.map((w) => stop(w)));
  await stop(gateway);
  await stop(scheduler);
  log(`stack stopped (scheduler exit ${await scheduler.exited})`);

  // --- checker: every execution record the scheduler stored ---
  const records = new Map();
  let unreadable = 0;
  let tempFiles = 0;
  for (const file of await readdir(join(dataDir, 'executions'))) {
    if (!file.endsWith('.json')) {
      tempFiles += 1;
      continue;
    }
    try {
      const rec = JSON.parse(await readFile(join(dataDir, 'executions', file), 'utf8'));
      records.set(rec.id, rec);
    } catch {
      unreadable += 1;
    }
  }
  let leftovers = [];
  try {
    leftovers = (await readdir(join(dataDir, 'journal'))).filter((f) => !f.startsWith('.'));
  } catch {
    // no journal directory in this store layout
  }

  const byStatus = {};
  const failedCodes = {};
  let terminal = 0;
  let missing = 0;
  let stuck = 0;
  let dupAttempts = 0;
  let dupEvents = 0;
  let wrongOutput = 0;
  let early = 0;
  let delayed = 0;
  let attemptsTotal = 0;
  let lostAttempts = 0;
  const lostIds = [];
  const dupIds = [];
  for (const [id, job] of accepted) {
    const rec = records.get(id);
    if (!rec) {
      missing += 1;
      lostIds.push(id);
      continue;
    }
    byStatus[rec.status] = (byStatus[rec.status] ?? 0) + 1;
    if (!TERMINAL.has(rec.status)) {
      stuck += 1;
      lostIds.push(id);
      continue;
    }
    terminal += 1;
    if (rec.status !== 'succeeded') failedCodes[rec.error?.code ?? '?'] = (failedCodes[rec.error?.code ?? '?'] ?? 0) + 1;
    if (rec.status === 'succeeded' && rec.output?.k !== job.k) wrongOutput += 1;
    const attempts = rec.attempts ?? [];
    attemptsTotal += attempts.length;
    lostAttempts += attempts.filter((a) => a.errorCode === 'WORKER_LOST').length;
    const completions = attempts.filter((a) => a.finishedAt !== null && a.errorCode === null).length;
    if (job.delayed) delayed += 1;
    // Started before its scheduled time: the delay was not honoured.
    if (rec.scheduledFor && rec.startedAt && Date.parse(rec.startedAt) < Date.parse(rec.scheduledFor)) early += 1;
    let terminalEvents = 0;
    for (let g = 0; g <= events.state.generation; g++) terminalEvents = Math.max(terminalEvents, events.terminalEvents.get(`${g}:${id}`) ?? 0);
    if (completions > 1) dupAttempts += 1;
    if (terminalEvents > 1) dupEvents += 1;
    if (completions > 1 || terminalEvents > 1) dupIds.push(id);
  }
  // Workflow step executions are accepted through their run (checked by soak-workflows.mjs).
  const unaccepted = [...records.values()].filter((r) => !accepted.has(r.id) && r.trigger?.type !== 'workflow').length;
  const lost = missing + stuck;
  const duplicated = dupIds.length;
  const fmtCounts = (o) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '—';

  const rows = [
    ['executions submitted (single / in batches)', `${EXECUTIONS} / ${batches * BATCH_SIZE}`],
    ['accepted (202)', accepted.size],
    ['refused (not 202)', fmtCounts(Object.fromEntries(refused))],
    ['terminal', terminal],
    ['  by status', fmtCounts(byStatus)],
    ['  failure codes', fmtCounts(failedCodes)],
    ['lost (missing / not terminal)', `${lost} (${missing} / ${stuck})`],
    ['duplicated completions (attempts / events)', `${duplicated} (${dupAttempts} / ${dupEvents})`],
    ["succeeded with another execution's output", wrongOutput],
    ['attempts recorded', attemptsTotal],
    ['  of which WORKER_LOST', lostAttempts],
    ['records not from a 202 (stored, never acknowledged)', unaccepted],
    ['unreadable record files / temp files / journal segments left', `${unreadable} / ${tempFiles} / ${leftovers.length}`],
    ['  of which delayed (single or batch) / batches', `${delayed} / ${batches}`],
    ['started before scheduledFor', early],
    ['worker SIGKILLs / restarts', `${kills} / ${restarts}`],
    ['scheduler SIGKILLs (restarted on its port)', schedulerKills],
    ['event stream: events / reconnects / gaps (resets)', `${events.state.events} / ${events.state.streams - 1} / ${events.state.gaps}`],
    ['submit time / time to all terminal', `${((submitted - submitStart) / 1000).toFixed(1)} s / ${((drained - submitStart) / 1000).toFixed(1)} s`],
    ['seed', SEED],
  ];
  const workflows = await checkWorkflows(dataDir, runs.accepted, runs.refused, records);
  rows.push(...workflows.rows);
  const width = Math.max(...rows.map(([k]) => k.length));
  const table = ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)].join('\n');
  process.stdout.write(`\nTaskForge soak (make chaos) — ${new Date().toISOString()}\n\n${table}\n\n`);
  if (lostIds.length) process.stdout.write(`lost ids (first 20): ${lostIds.slice(0, 20).join(' ')}\n`);
  if (dupIds.length) process.stdout.write(`duplicated ids (first 20): ${dupIds.slice(0, 20).join(' ')}\n`);

  if (process.env.SOAK_KEEP === '1') log(`data kept in ${dataDir}`);
  else await rm(dataDir, { recursive: true, force: true });
  const ok = lost === 0 && duplicated === 0 && unreadable === 0 && wrongOutput === 0 && early === 0 && workflows.ok;
  process.stdout.write(ok ? 'PASS: lost 0, duplicated 0, early 0\n' : 'FAIL\n');
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`soak failed: ${err.stack ?? err}\n`);
  for (const proc of children) proc.kill('SIGKILL');
  process.exit(1);
});
