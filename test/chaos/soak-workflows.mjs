/**
 * The workflow part of the soak (soak.mjs, `make chaos`): a diamond workflow (a → b, c → d) is
 * started SOAK_WORKFLOW_RUNS times (100) alongside the invoke load, so its steps run on workers
 * that are SIGKILLed at random. The checker reads every run record and every execution record
 * the scheduler stored and counts, for the runs answered 202:
 *
 *   lost        no stored run, or one not finished after the final wait
 *   run twice   a (run, step) with more than one execution, or an execution that completed twice
 *   wrong       a succeeded run whose output is not the one its input implies
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const WORKFLOW_RUNS = Number(process.env.SOAK_WORKFLOW_RUNS ?? 100);
const STEPS = ['a', 'b', 'c', 'd'];

const FUNCTION = {
  code: 'export default async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return { n: e.n, via: e.via } }',
  maxRetries: 5,
};
const WORKFLOW = {
  steps: [
    { id: 'a', function: 'wf-step', input: { n: '$.input.n', ms: 50, via: 'a' } },
    { id: 'b', function: 'wf-step', needs: ['a'], input: { n: '$.steps.a.output.n', ms: 150, via: 'b' } },
    { id: 'c', function: 'wf-step', needs: ['a'], input: { n: '$.steps.a.output.n', ms: 100, via: 'c' } },
    { id: 'd', function: 'wf-step', needs: ['b', 'c'], input: { n: '$.steps.b.output.n', ms: 20, via: '$.steps.c.output.via' } },
  ],
};

export async function setupWorkflows(http, base) {
  for (const [method, path, body] of [
    ['PUT', '/v1/functions/wf-step', FUNCTION],
    ['PUT', '/v1/workflows/soak-diamond', WORKFLOW],
  ]) {
    const r = await http(base, method, path, body);
    if (r.status !== 200 && r.status !== 201) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

/** Starts the runs spread over `spreadMs`; resolves with runId → n of every 202, and the refusals. */
export async function startRuns(http, base, spreadMs, sleep) {
  const accepted = new Map();
  const refused = new Map();
  const start = Date.now();
  await Promise.all(
    Array.from({ length: WORKFLOW_RUNS }, async (_, n) => {
      const due = start + (n * spreadMs) / Math.max(1, WORKFLOW_RUNS);
      if (due > Date.now()) await sleep(due - Date.now());
      const r = await http(base, 'POST', '/v1/workflows/soak-diamond/runs', { n });
      if (r.status === 202) accepted.set(r.body.runId, n);
      else refused.set(r.status, (refused.get(r.status) ?? 0) + 1);
    }),
  );
  return { accepted, refused };
}

/** Polls every accepted run until it is finished or the deadline passes; the ids still running. */
export async function waitRuns(http, base, accepted, deadline, sleep) {
  const running = new Set(accepted.keys());
  for (const id of accepted.keys()) {
    while (Date.now() < deadline) {
      const r = await http(base, 'GET', `/v1/workflow-runs/${id}`);
      if (r.status === 200 && r.body.status !== 'running') {
        running.delete(id);
        break;
      }
      await sleep(200);
    }
  }
  return running;
}

/** Reads the stored runs and checks them against the stored executions (by their workflow trigger). */
export async function checkWorkflows(dataDir, accepted, refused, records) {
  const runs = new Map();
  for (const file of await readdir(join(dataDir, 'workflow-runs')).catch(() => [])) {
    if (!file.endsWith('.json')) continue;
    const run = JSON.parse(await readFile(join(dataDir, 'workflow-runs', file), 'utf8'));
    runs.set(run.id, run);
  }
  const perStep = new Map();
  for (const rec of records.values()) {
    if (rec.trigger?.type !== 'workflow') continue;
    const k = `${rec.trigger.runId}/${rec.trigger.step}`;
    perStep.set(k, [...(perStep.get(k) ?? []), rec]);
  }
  const byStatus = {};
  let lost = 0;
  let twice = 0;
  let wrong = 0;
  for (const [id, n] of accepted) {
    const run = runs.get(id);
    if (!run || run.status === 'running') {
      lost += 1;
      continue;
    }
    byStatus[run.status] = (byStatus[run.status] ?? 0) + 1;
    if (run.status === 'succeeded' && (run.steps.d?.output?.n !== n || run.steps.d?.output?.via !== 'c')) wrong += 1;
    for (const step of STEPS) {
      const execs = perStep.get(`${id}/${step}`) ?? [];
      const completions = execs.flatMap((e) => e.attempts ?? []).filter((a) => a.finishedAt !== null && a.errorCode === null).length;
      if (execs.length > 1 || completions > 1) twice += 1;
    }
  }
  const fmt = (o) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '—';
  return {
    ok: lost === 0 && twice === 0 && wrong === 0,
    rows: [
      ['workflow runs started / accepted (202)', `${WORKFLOW_RUNS} / ${accepted.size}`],
      ['  refused (not 202)', fmt(Object.fromEntries(refused))],
      ['  by status', fmt(byStatus)],
      ['  lost (no record / not finished)', lost],
      ['  steps run twice (two executions, or two completions)', twice],
      ['  succeeded with a wrong output', wrong],
    ],
  };
}
