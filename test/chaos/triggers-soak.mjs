#!/usr/bin/env node
/**
 * Triggers under chaos (`make chaos`, after soak.mjs): a real scheduler, gateway and workers as
 * separate processes from dist/. Events are published to a topic with five subscribers (two of
 * them filtered) and two cron triggers tick (every second, every 2 s) while the **scheduler** is
 * SIGKILLed at random and restarted on its port and data dir. At the end every execution of an
 * acknowledged publish is waited for, the stack is stopped cleanly, and a checker reads every
 * stored execution record and prints:
 *
 *   events lost        202'd events missing an execution of a matching subscriber, or with one
 *                      not stored or not terminal, or listing one that should not have matched
 *   run twice          executions whose `attempts` list two completed runs
 *   ticks twice        a cron tick with two executions
 *   ticks missed       a tick with no execution while the scheduler was up (the downtime's ticks
 *                      get one catch-up run: more than one in a window counts here too)
 *
 * It exits 1 unless all four are 0. Settings: TRIGGERS_SOAK_SECONDS (60), TRIGGERS_SOAK_KILLS (6),
 * TRIGGERS_SOAK_RATE (events/s, 20), SOAK_SEED. Temp data dir, removed unless SOAK_KEEP=1.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { children, component, createHttp, mapLimit, prng, sleep, stop } from './processes.mjs';

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const RUN_MS = env('TRIGGERS_SOAK_SECONDS', 60) * 1000;
const MIN_KILLS = env('TRIGGERS_SOAK_KILLS', 6);
const RATE = env('TRIGGERS_SOAK_RATE', 20);
const SEED = env('SOAK_SEED', Date.now() % 1_000_000);
const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);
const rand = prng(SEED);
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const T0 = Date.now();
const log = (msg) => process.stderr.write(`[triggers-soak ${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);

const WORK = 'export default async (e) => { await new Promise((r) => setTimeout(r, 5)); return { got: e } }';
const TOPIC = 'soak.orders';
/** Subscribers and their filters; an event matches when every filter field equals. */
const SUBSCRIBERS = {
  'sub-all-1': undefined,
  'sub-all-2': undefined,
  'sub-all-3': undefined,
  'sub-eu': { region: 'eu' },
  'sub-big': { size: 'big' },
};
const CRONS = { 'tick-1s': { schedule: '* * * * * *', everyMs: 1000 }, 'tick-2s': { schedule: '*/2 * * * * *', everyMs: 2000 } };
const matches = (event, filter) => !filter || Object.entries(filter).every(([k, v]) => event[k] === v);

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'taskforge-triggers-soak-'));
  log(`seed ${SEED}; ${RUN_MS / 1000} s at ${RATE} events/s, ≥ ${MIN_KILLS} scheduler kills; data in ${dataDir}`);
  const startScheduler = (port) =>
    component('scheduler', ['scheduler', '--grpc-port', String(port), '--data-dir', dataDir, '--log-level', 'info'], /"msg":"scheduler listening"/);
  let scheduler = startScheduler(0);
  const port = JSON.parse(await scheduler.ready).port;
  const address = `127.0.0.1:${port}`;
  const http = createHttp((await readFile(join(dataDir, 'admin.key'), 'utf8')).trim());
  const controlTokenFile = join(dataDir, 'control.token');
  readFileSync(controlTokenFile, 'utf8');
  const gateway = component(
    'gateway',
    ['gateway', '--port', '0', '--scheduler', address, '--control-token-file', controlTokenFile, '--log-level', 'info'],
    /"msg":"gateway listening"/,
  );
  const base = JSON.parse(await gateway.ready).url;
  const workers = [];
  for (const name of ['tw1', 'tw2']) {
    const w = component(
      name,
      ['worker', '--scheduler', address, '--join-token-file', join(dataDir, 'join.token'), '--capacity', '8', '--name', name, '--log-level', 'info'],
      /"msg":"welcomed"/,
    );
    await w.ready;
    workers.push(w);
  }
  for (const [name, filter] of Object.entries(SUBSCRIBERS)) {
    const r = await http(base, 'PUT', `/v1/functions/${name}`, { code: WORK, triggers: [{ type: 'topic', topic: TOPIC, ...(filter && { filter }) }] });
    if (r.status !== 201) throw new Error(`PUT ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  for (const [name, c] of Object.entries(CRONS)) {
    const r = await http(base, 'PUT', `/v1/functions/${name}`, { code: WORK, triggers: [{ type: 'cron', schedule: c.schedule }] });
    if (r.status !== 201) throw new Error(`PUT ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const cronFrom = Date.now();

  // --- load: events at a steady pace; a refused publish is retried (only a 202 counts) ---
  const accepted = new Map(); // eventId → { event, executions }
  const refused = new Map();
  const total = Math.round((RUN_MS / 1000) * RATE);
  const loadStart = Date.now();
  const load = mapLimit(
    Array.from({ length: total }, (_, k) => k),
    16,
    async (k) => {
      const due = loadStart + (k * 1000) / RATE;
      if (due > Date.now()) await sleep(due - Date.now());
      const event = { k, region: rand() < 0.5 ? 'eu' : 'us', size: rand() < 0.3 ? 'big' : 'small' };
      for (let tries = 0; tries < 200; tries++) {
        const r = await http(base, 'POST', `/v1/topics/${TOPIC}/events`, event);
        if (r.status === 202) {
          accepted.set(r.body.eventId, { event, executions: r.body.executions });
          return;
        }
        refused.set(r.status, (refused.get(r.status) ?? 0) + 1);
        await sleep(100);
      }
    },
  );

  // --- chaos: SIGKILL the scheduler, restart it on its port ---
  const downtimes = []; // [killedAt, readyAt]
  let kills = 0;
  const chaos = (async () => {
    while (Date.now() - loadStart < RUN_MS || kills < MIN_KILLS) {
      await sleep(between(3_000, Math.max(3_000, Math.floor(RUN_MS / MIN_KILLS))));
      scheduler.proc.kill('SIGKILL');
      await scheduler.exited;
      const killedAt = Date.now();
      kills += 1;
      await sleep(between(300, 2_500));
      scheduler = startScheduler(port);
      await scheduler.ready;
      downtimes.push([killedAt, Date.now()]);
      log(`kill #${kills}: down ${Date.now() - killedAt} ms`);
    }
  })();
  await load;
  await chaos;
  await sleep(2_500);
  const cronTo = Date.now() - 1_500;
  log(`load done: ${accepted.size}/${total} events accepted; ${kills} scheduler kills`);

  // --- final wait: every acknowledged execution terminal ---
  const ids = [...accepted.values()].flatMap((a) => a.executions.map((e) => e.executionId));
  const waitEnd = Date.now() + 180_000;
  await mapLimit(ids, 32, async (id) => {
    while (Date.now() < waitEnd) {
      const r = await http(base, 'GET', `/v1/executions/${id}?waitMs=20000`);
      if (r.status === 200 && TERMINAL.has(r.body.status)) return;
      if (r.status !== 200) await sleep(200);
    }
  });
  await Promise.all(workers.map((w) => stop(w)));
  await stop(gateway);
  await stop(scheduler);

  // --- checker: the stored records ---
  const records = new Map();
  for (const file of await readdir(join(dataDir, 'executions'))) {
    if (!file.endsWith('.json')) continue;
    const rec = JSON.parse(await readFile(join(dataDir, 'executions', file), 'utf8'));
    records.set(rec.id, rec);
  }
  let eventsLost = 0;
  let runTwice = 0;
  for (const { event, executions } of accepted.values()) {
    const expected = Object.entries(SUBSCRIBERS)
      .filter(([, f]) => matches(event, f))
      .map(([n]) => n)
      .sort();
    const listed = executions.map((e) => e.function).sort();
    const stored = executions.map((e) => records.get(e.executionId));
    if (JSON.stringify(expected) !== JSON.stringify(listed) || stored.some((r) => !r || !TERMINAL.has(r.status) || r.input?.k !== event.k)) eventsLost += 1;
  }
  for (const rec of records.values()) {
    const completions = (rec.attempts ?? []).filter((a) => a.finishedAt !== null && a.errorCode === null).length;
    if (completions > 1) runTwice += 1;
  }
  const down = (t) => downtimes.some(([a, b]) => t > a - 1000 && t <= b + 1000);
  let ticksTwice = 0;
  let ticksMissed = 0;
  let catchUps = 0;
  let tickCount = 0;
  for (const [name, c] of Object.entries(CRONS)) {
    const ticks = [...records.values()].filter((r) => r.function === name && r.trigger?.type === 'cron').map((r) => Date.parse(r.trigger.tick));
    tickCount += ticks.length;
    const seen = new Map();
    for (const t of ticks) seen.set(t, (seen.get(t) ?? 0) + 1);
    for (const n of seen.values()) if (n > 1) ticksTwice += 1;
    const first = Math.ceil((cronFrom + 1500) / c.everyMs) * c.everyMs;
    for (let t = first; t <= cronTo; t += c.everyMs) if (!seen.has(t) && !down(t)) ticksMissed += 1;
    for (const [a, b] of downtimes) {
      const inWindow = ticks.filter((t) => t > a - 1000 && t <= b + 1000 && !seen.has(t - c.everyMs)).length;
      catchUps += Math.min(inWindow, 1);
      if (inWindow > 2) ticksMissed += inWindow - 2;
    }
  }
  const rows = [
    ['events published / accepted (202)', `${total} / ${accepted.size}`],
    ['refused (retried)', [...refused].map(([s, n]) => `${s} ${n}`).join(', ') || '—'],
    ['executions from events', ids.length],
    ['events lost', eventsLost],
    ['executions run twice', runTwice],
    ['cron executions', tickCount],
    ['cron ticks twice', ticksTwice],
    ['cron ticks missed while up', ticksMissed],
    ['catch-up runs after a restart', catchUps],
    ['scheduler SIGKILLs', kills],
    ['seed', SEED],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(
    `\nTaskForge triggers soak — ${new Date().toISOString()}\n\n| measure | value |\n|---|---|\n${rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`).join('\n')}\n\n`,
  );
  if (process.env.SOAK_KEEP === '1') log(`data kept in ${dataDir}`);
  else await rm(dataDir, { recursive: true, force: true });
  const ok = accepted.size === total && eventsLost === 0 && runTwice === 0 && ticksTwice === 0 && ticksMissed === 0;
  process.stdout.write(ok ? 'PASS: events lost 0, run twice 0, every tick once\n' : 'FAIL\n');
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`triggers soak failed: ${err.stack ?? err}\n`);
  for (const proc of children) proc.kill('SIGKILL');
  process.exit(1);
});
