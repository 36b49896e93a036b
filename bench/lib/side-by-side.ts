/**
 * The side-by-side table `make bench` prints after its main one: async work submitted over HTTP
 * by 50 connections, one row per system measured in the same run — bare Fastify (the ceiling:
 * an answer with nothing behind it), the design floor (TaskForge's shape forwarding, with the
 * journal entry before each 202 and a file per execution), TaskForge, and BullMQ on Redis with
 * `appendfsync always` (durable before the answer, as TaskForge's 202) and `everysec` (BullMQ's
 * usual setting). Rows of scenarios that did not run are left out.
 */
/** What the table reads of a run's report (report.ts's RunReport). */
interface Point {
  connections: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface RunNumbers {
  ceiling: Record<string, unknown> | null;
  scenarios: ReadonlyArray<{ name: string; error?: string; numbers: Record<string, unknown> }>;
}

interface Row {
  system: string;
  accepted: number;
  completed: number;
  p50Ms: number;
  p99Ms: number;
}

const HEAD = ['async over HTTP, c=50', 'accepted /s', 'completed /s', 'submit p50', 'submit p99', 'accepted ÷ floor'];

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const fmt = (v: number, unit = ''): string => (Number.isFinite(v) ? `${v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)}${unit}` : '—');

export function sideBySideRows(report: RunNumbers): Row[] {
  const rows: Row[] = [];
  // The ceiling scenario's numbers (scenario.ts's Ceiling): its highest concurrency.
  const points = (report.ceiling?.points ?? []) as Point[];
  const top = points.reduce<Point | null>((a, p) => (a && a.connections >= p.connections ? a : p), null);
  if (top)
    rows.push({ system: `bare Fastify (c=${top.connections}, nothing behind it)`, accepted: top.rps, completed: NaN, p50Ms: top.p50Ms, p99Ms: top.p99Ms });
  const async = report.scenarios.find((s) => s.name === 'async' && !s.error)?.numbers;
  const floor = async?.floor as Record<string, unknown> | undefined;
  if (floor) {
    rows.push({
      system: 'design floor (journal + file, durable 202)',
      accepted: num(floor.acceptPerSecond),
      completed: num(floor.completionPerSecond),
      p50Ms: num(floor.acceptLatencyP50Ms),
      p99Ms: num(floor.acceptLatencyP99Ms),
    });
  }
  if (async) {
    rows.push({
      system: 'TaskForge (durable 202)',
      accepted: num(async.acceptPerSecond),
      completed: num(async.completionPerSecond),
      p50Ms: num(async.acceptLatencyP50Ms),
      p99Ms: num(async.acceptLatencyP99Ms),
    });
  }
  const peer = report.scenarios.find((s) => s.name === 'bullmq' && !s.error)?.numbers;
  for (const fsync of ['always', 'everysec'] as const) {
    const r = peer?.[fsync] as Record<string, unknown> | undefined;
    if (!r) continue;
    rows.push({
      system: `BullMQ on Redis, appendfsync ${fsync}${fsync === 'always' ? ' (durable 202)' : ''}`,
      accepted: num(r.acceptedPerSecond),
      completed: num(r.completedPerSecond),
      p50Ms: num(r.p50Ms),
      p99Ms: num(r.p99Ms),
    });
  }
  return rows;
}

/** The table as lines of text (empty when neither async scenario ran). */
export function sideBySideTable(report: RunNumbers): string[][] {
  const rows = sideBySideRows(report);
  if (!rows.some((r) => !r.system.startsWith('bare'))) return [];
  const floorAccepted = rows.find((r) => r.system.startsWith('design floor'))?.accepted ?? NaN;
  return [
    HEAD,
    ...rows.map((r) => [
      r.system,
      fmt(r.accepted),
      fmt(r.completed),
      fmt(r.p50Ms, ' ms'),
      fmt(r.p99Ms, ' ms'),
      Number.isFinite(floorAccepted) ? `${((100 * r.accepted) / floorAccepted).toFixed(0)} %` : '—',
    ]),
  ];
}
