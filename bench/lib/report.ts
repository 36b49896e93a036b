/**
 * What a scenario reports, and how a run is printed and written: a table of every metric (with
 * its target and pass/fail where the issue sets one), `bench/results/latest.json` (one object per
 * scenario: its numbers and the ceiling's) and `bench/results/latest.md`. bench/results/ is
 * git-ignored: a run's output is never committed; the numbers worth keeping are quoted, with
 * their date and machine, in docs/PERFORMANCE.md. Files are written to a temp name and renamed,
 * so a crashed run never leaves half a result.
 */
import { rename, writeFile, mkdir } from 'node:fs/promises';
import { cpus, availableParallelism, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { sideBySideTable } from './side-by-side.js';
import { round } from './stats.js';

export interface Target {
  op: '>=' | '<=';
  value: number;
}

export interface Metric {
  metric: string;
  value: number;
  unit: string;
  target?: Target;
  /** Set when there is a target but this run cannot judge it (e.g. a quick run's smaller data). */
  targetNote?: string;
}

export interface ScenarioResult {
  name: string;
  title: string;
  /** Every number the scenario measured, for latest.json. */
  numbers: Record<string, unknown>;
  /** The rows of the table. */
  metrics: Metric[];
  notes: string[];
  error?: string;
  seconds: number;
}

/** The machine a run was measured on, as latest.json and latest.md print it. */
export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
}

export interface RunReport {
  command: string;
  quick: boolean;
  startedAt: string;
  seconds: number;
  machine: Machine;
  ceiling: Record<string, unknown> | null;
  scenarios: ScenarioResult[];
}

export const RESULTS_DIR = join(import.meta.dirname, '..', '..', '..', 'bench', 'results');

export function machine(): Machine {
  const list = cpus();
  return {
    cpus: availableParallelism(),
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${release()}`,
  };
}

export type Verdict = 'pass' | 'FAIL' | '—';

export function verdict(m: Metric): Verdict {
  if (!m.target || m.targetNote || !Number.isFinite(m.value)) return '—';
  const ok = m.target.op === '>=' ? m.value >= m.target.value : m.value <= m.target.value;
  return ok ? 'pass' : 'FAIL';
}

const targetText = (m: Metric): string =>
  m.target
    ? `${m.target.op === '>=' ? '≥' : '≤'} ${m.target.value}${m.unit === '%' ? ' %' : m.unit ? ` ${m.unit}` : ''}${m.targetNote ? ` (${m.targetNote})` : ''}`
    : '';
const valueText = (m: Metric): string => (Number.isFinite(m.value) ? `${round(m.value).toLocaleString('en-US')}${m.unit ? ` ${m.unit}` : ''}` : 'n/a');

function rows(report: RunReport): string[][] {
  const out: string[][] = [];
  for (const s of report.scenarios) {
    if (s.error) out.push([s.title, 'ERROR', s.error.split('\n')[0]!.slice(0, 100), '', 'FAIL']);
    for (const m of s.metrics) out.push([s.title, m.metric, valueText(m), targetText(m), verdict(m)]);
  }
  return out;
}

const HEAD = ['scenario', 'metric', 'value', 'target', 'result'];

/** Rows (the first one the head) as aligned text. */
function aligned(all: string[][]): string {
  const head = all[0]!;
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

const mdTable = (all: string[][]): string[] => {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [`| ${all[0]!.map(esc).join(' | ')} |`, `|${all[0]!.map(() => '---').join('|')}|`, ...all.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`)];
};

/** The main table and, when an async scenario ran, the side-by-side one (side-by-side.ts). */
export function textTable(report: RunReport): string {
  const side = sideBySideTable(report);
  return [aligned([HEAD, ...rows(report)]), ...(side.length ? ['', aligned(side)] : [])].join('\n');
}

export function markdown(report: RunReport): string {
  const m = report.machine;
  const side = sideBySideTable(report);
  const table = [...mdTable([HEAD, ...rows(report)]), ...(side.length ? ['', ...mdTable(side)] : [])];
  const notes = report.scenarios.flatMap((s) => s.notes.map((n) => `- **${s.title}**: ${n}`));
  return [
    '# TaskForge benchmark — latest run',
    '',
    `Command: \`${report.command}\` · ${report.startedAt} · ${Math.round(report.seconds)} s`,
    '',
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}`,
    '',
    ...table,
    '',
    ...(notes.length ? ['Notes:', '', ...notes, ''] : []),
  ].join('\n');
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export async function writeResults(report: RunReport): Promise<{ json: string; md: string }> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, 'latest.json');
  const md = join(RESULTS_DIR, 'latest.md');
  const scenarios = report.scenarios.map((s) => ({
    name: s.name,
    title: s.title,
    seconds: round(s.seconds),
    ...(s.error ? { error: s.error } : {}),
    numbers: s.numbers,
    ceiling: report.ceiling,
    metrics: s.metrics.map((x) => ({ ...x, value: round(x.value), result: verdict(x) })),
    notes: s.notes,
  }));
  const body = {
    command: report.command,
    quick: report.quick,
    startedAt: report.startedAt,
    seconds: round(report.seconds),
    machine: report.machine,
    scenarios,
  };
  await writeAtomic(json, `${JSON.stringify(body, null, 2)}\n`);
  await writeAtomic(md, markdown(report));
  return { json, md };
}
