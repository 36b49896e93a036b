#!/usr/bin/env node
/**
 * The HA soak (`make chaos MODE=ha`; minutes, not part of `make test`). Two schedulers share one
 * PostgreSQL database (one leads, one stands by); two gateways and three workers are given both
 * scheduler addresses. Async invokes go through both gateways at a steady pace, each with an
 * idempotency key, while the ACTIVE scheduler is SIGKILLed again and again (and restarted, to
 * stand by), and gateways and workers are SIGKILLed and restarted too. A request a dead gateway or
 * a failover left without an answer is sent again, with the same key, through the other gateway.
 *
 * At the end every accepted execution is waited for and the stack is stopped; the checker reads
 * every execution record from the database and prints:
 *
 *   accepted     idempotency keys answered 202 (one execution id each)
 *   lost         accepted ids with no record, or one not terminal after the final wait
 *   duplicated   accepted ids whose record lists two attempts that finished without error, or two
 *                ids answered for one key
 *   failover     from the SIGKILL of the active scheduler to the standby's "scheduler listening"
 *
 * It exits 1 when lost or duplicated is not 0. Settings (environment): HA_EXECUTIONS (2000),
 * HA_SUBMIT_SECONDS (60), HA_SCHEDULER_KILLS (5), HA_SEED. Its data (PostgreSQL cluster, token
 * files) is in temp dirs, removed at the end.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { children, component, createHttp, mapLimit, prng, sleep, stop } from './processes.mjs';

// The tests' PostgreSQL helper is TypeScript, importing its neighbours as `.js`: map those to `.ts`
// (Node strips the types itself), so this script starts PostgreSQL exactly as the tests do.
registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(`${specifier.slice(0, -3)}.ts`, context);
      throw err;
    }
  },
});
const { startPostgres } = await import('../helpers/postgres.ts');
const { freePort } = await import('../helpers/processes.ts');

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const EXECUTIONS = env('HA_EXECUTIONS', 2000);
const SUBMIT_MS = env('HA_SUBMIT_SECONDS', 60) * 1000;
const SCHEDULER_KILLS = env('HA_SCHEDULER_KILLS', 5);
const SEED = env('HA_SEED', Date.now() % 1_000_000);
const WORKERS = 3;
const FINAL_WAIT_MS = 240_000;
/** How long one invoke is retried (gateways down, a failover) before it counts as refused. */
const SUBMIT_PATIENCE_MS = 60_000;
const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);

const rand = prng(SEED);
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const T0 = Date.now();
const log = (msg) => process.stderr.write(`[ha ${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

const FUNCTIONS = {
  fast: { code: 'export default async (e) => ({ k: e.k })' },
  slow: { code: 'export default async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return { k: e.k } }' },
  flaky: { code: 'export default async (e, ctx) => { if (ctx.attempt === 1) throw new Error("first attempt fails"); return { k: e.k } }', maxRetries: 3 },
};
const KINDS = ['fast', 'fast', 'slow', 'flaky'];

async function main() {
  const pg = await startPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), 'taskforge-ha-'));
  const url = await pg.createDatabase('ha');
  const db = new URL(url).pathname.slice(1);
  const ports = [await freePort(), await freePort()];
  const schedulerList = ports.map((p) => `127.0.0.1:${p}`).join(',');
  log(`seed ${SEED}; ${EXECUTIONS} executions over ${SUBMIT_MS / 1000} s; schedulers ${schedulerList}`);

  const LISTENING = /"msg":"scheduler listening"/;
  const schedulers = [null, null];
  const startScheduler = (i) =>
    (schedulers[i] = component(
      `scheduler-${i}`,
      ['scheduler', '--grpc-port', String(ports[i]), '--data-dir', dataDir, '--store', url, '--log-level', 'info'],
      LISTENING,
      {
        timeoutMs: Infinity,
      },
    ));
  startScheduler(0);
  await schedulers[0].ready;
  startScheduler(1);
  const joinTokenFile = join(dataDir, 'join.token');
  const controlTokenFile = join(dataDir, 'control.token');
  const http = createHttp((await readFile(join(dataDir, 'admin.key'), 'utf8')).trim());

  const gatewayPorts = [await freePort(), await freePort()];
  const gateways = [null, null];
  const startGateway = async (i) => {
    gateways[i] = component(
      `gateway-${i}`,
      ['gateway', '--port', String(gatewayPorts[i]), '--scheduler', schedulerList, '--control-token-file', controlTokenFile, '--log-level', 'info'],
      /"msg":"gateway listening"/,
    );
    await gateways[i].ready;
  };
  await Promise.all([startGateway(0), startGateway(1)]);
  const bases = gatewayPorts.map((p) => `http://127.0.0.1:${p}`);

  let generation = 0;
  const workers = [];
  const startWorker = async (slot) => {
    const name = `ha-w${slot}-g${++generation}`;
    const w = component(
      name,
      ['worker', '--scheduler', schedulerList, '--join-token-file', joinTokenFile, '--capacity', '4', '--name', name, '--log-level', 'info'],
      /"msg":"welcomed"/,
    );
    await w.ready.catch((err) => {
      throw new Error(`${err.message}; its last lines:\n${w.tail.join('\n')}`);
    });
    workers[slot] = w;
  };
  for (let i = 0; i < WORKERS; i++) await startWorker(i);
  for (const [name, spec] of Object.entries(FUNCTIONS)) {
    const r = await http(bases[0], 'PUT', `/v1/functions/${name}`, spec);
    if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  }

  // --- load: every invoke keyed, retried through the other gateway until it is answered 202 ---
  const accepted = new Map(); // key → { id, k }
  const twoIds = [];
  const refused = new Map();
  let retries = 0;
  let submitting = true;
  const submitStart = Date.now();
  const load = (async () => {
    const jobs = Array.from({ length: EXECUTIONS }, (_, k) => ({ k, kind: KINDS[between(0, KINDS.length - 1)] }));
    await mapLimit(jobs, 24, async (job) => {
      const due = submitStart + (job.k * SUBMIT_MS) / EXECUTIONS;
      if (due > Date.now()) await sleep(due - Date.now());
      const key = `ha-${SEED}-${job.k}`;
      const input = job.kind === 'slow' ? { k: job.k, ms: between(50, 400) } : { k: job.k };
      const giveUp = Date.now() + SUBMIT_PATIENCE_MS;
      for (let attempt = 0; ; attempt++) {
        const r = await http(bases[(job.k + attempt) % 2], 'POST', `/v1/functions/${job.kind}/invoke`, input, { 'idempotency-key': key });
        if (r.status === 202) {
          const seen = accepted.get(key);
          if (seen && seen.id !== r.body.executionId) twoIds.push(key);
          accepted.set(key, { id: r.body.executionId, k: job.k });
          return;
        }
        // No answer (a gateway died) or 503 (no scheduler leads right now): the same key again.
        if ((r.status === 0 || r.status === 503) && Date.now() < giveUp) {
          retries += 1;
          await sleep(100 + attempt * 50);
          continue;
        }
        refused.set(r.status, (refused.get(r.status) ?? 0) + 1);
        return;
      }
    });
    submitting = false;
  })();

  // --- the active scheduler, SIGKILLed; the other one must take over ---
  const failovers = [];
  const schedulerChaos = (async () => {
    for (let n = 0; n < SCHEDULER_KILLS; n++) {
      await sleep(SUBMIT_MS / (SCHEDULER_KILLS + 1));
      const [{ holder }] = await pg.query('SELECT holder FROM leader_lease', [], db);
      const active = ports.findIndex((p) => holder.endsWith(`:${p}`));
      if (active < 0) throw new Error(`no scheduler of ours holds the lease (${holder})`);
      const standby = 1 - active;
      const victim = schedulers[active];
      const killedAt = Date.now();
      victim.proc.kill('SIGKILL');
      await victim.exited;
      await schedulers[standby].ready;
      failovers.push(Date.now() - killedAt);
      log(`scheduler kill #${n + 1}: ${victim.label}; scheduler-${standby} listening after ${failovers.at(-1)} ms`);
      // Back as the standby of the next round.
      startScheduler(active);
    }
  })();

  // --- gateways and workers die too ---
  let gatewayKills = 0;
  let workerKills = 0;
  const edgeChaos = (async () => {
    while (submitting) {
      await sleep(between(3_000, 7_000));
      if (!submitting) break;
      if (rand() < 0.3) {
        const i = between(0, 1);
        gateways[i].proc.kill('SIGKILL');
        await gateways[i].exited;
        gatewayKills += 1;
        await sleep(between(200, 1_500));
        await startGateway(i);
      } else {
        const slot = between(0, WORKERS - 1);
        workers[slot].proc.kill('SIGKILL');
        await workers[slot].exited;
        workerKills += 1;
        await sleep(between(200, 1_500));
        await startWorker(slot);
      }
    }
  })();

  await load;
  await schedulerChaos;
  await edgeChaos;
  log(`submission done: ${accepted.size} accepted, ${retries} resent`);

  // --- final wait: every accepted execution terminal ---
  const waitEnd = Date.now() + FINAL_WAIT_MS;
  await mapLimit([...accepted.values()], 32, async ({ id }) => {
    while (Date.now() < waitEnd) {
      const r = await http(bases[0], 'GET', `/v1/executions/${id}?waitMs=20000`);
      if (r.status === 200 && TERMINAL.has(r.body.status)) return;
      if (r.status !== 200) await sleep(200);
    }
  });
  for (const w of workers) await stop(w);
  for (const g of gateways) await stop(g);
  for (const s of schedulers) await stop(s);

  // --- checker: the records in the database ---
  const records = new Map((await pg.query('SELECT record FROM executions', [], db)).map((r) => [r.record.id, r.record]));
  let lost = 0;
  let duplicated = twoIds.length;
  let wrongOutput = 0;
  const byStatus = {};
  for (const { id, k } of accepted.values()) {
    const rec = records.get(id);
    if (!rec || !TERMINAL.has(rec.status)) {
      lost += 1;
      if (lost <= 20) log(`lost: ${id} (${rec ? rec.status : 'no record'})`);
      continue;
    }
    byStatus[rec.status] = (byStatus[rec.status] ?? 0) + 1;
    if (rec.status === 'succeeded' && rec.output?.k !== k) wrongOutput += 1;
    if ((rec.attempts ?? []).filter((a) => a.finishedAt !== null && a.errorCode === null).length > 1) duplicated += 1;
  }
  const fmt = (o) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '—';
  const rows = [
    ['accepted (202, one per idempotency key)', accepted.size],
    ['refused (not 202 after retries)', fmt(Object.fromEntries(refused))],
    ['requests resent (no answer / 503)', retries],
    ['terminal by status', fmt(byStatus)],
    ['lost', lost],
    ['duplicated (two completions, or two ids for one key)', duplicated],
    ["succeeded with another execution's output", wrongOutput],
    ['active-scheduler SIGKILLs', failovers.length],
    ['failover p50 / max (kill → standby listening)', `${median(failovers)} ms / ${Math.max(...failovers)} ms`],
    ['gateway / worker SIGKILLs', `${gatewayKills} / ${workerKills}`],
    ['seed', SEED],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\nTaskForge HA soak (make chaos MODE=ha) — ${new Date().toISOString()}\n\n`);
  process.stdout.write(`${['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)].join('\n')}\n\n`);
  await pg.close();
  await rm(dataDir, { recursive: true, force: true });
  const ok = lost === 0 && duplicated === 0 && wrongOutput === 0 && refused.size === 0;
  process.stdout.write(ok ? 'PASS: lost 0, duplicated 0\n' : 'FAIL\n');
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`ha soak failed: ${err.stack ?? err}\n`);
  for (const proc of children) proc.kill('SIGKILL');
  process.exit(1);
});
