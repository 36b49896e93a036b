/** How numbers and times read on the pages. */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(v / 60_000)} min ${Math.round((v % 60_000) / 1000)} s`;
}

export function percent(v: number | null): string {
  return v === null ? '—' : `${(v * 100).toFixed(v === 1 || v === 0 ? 0 : 1)} %`;
}

/** `12 s ago` from two epoch-ms times. */
export function ago(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((nowMs - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** JSON for a `<pre>`: two-space indent; `undefined` shows as a dash. */
export function json(v: unknown): string {
  return v === undefined ? '—' : JSON.stringify(v, null, 2);
}

/**
 * The timings to draw: the record's once it has them (the worker's measure), else, while the
 * execution waits or runs, what the clock says so far (queued until it started, running since).
 */
export function timingsSoFar(
  e: {
    timings?: { queuedMs: number | null; initMs: number | null; runMs: number | null; cpuMs?: number | null } | null;
    createdAt: string;
    startedAt: string | null;
    status: string;
  },
  nowMs: number,
): { queuedMs: number | null; initMs: number | null; runMs: number | null; cpuMs?: number | null } | null {
  if (e.timings) return e.timings;
  const created = Date.parse(e.createdAt);
  const started = e.startedAt ? Date.parse(e.startedAt) : Number.NaN;
  if (e.status === 'running' && !Number.isNaN(started) && !Number.isNaN(created))
    return { queuedMs: Math.max(0, started - created), initMs: null, runMs: Math.max(0, nowMs - started) };
  if (e.status === 'queued' && !Number.isNaN(created)) return { queuedMs: Math.max(0, nowMs - created), initMs: null, runMs: null };
  return null;
}

/** The bar's three parts as fractions of their sum (all 0 when nothing was measured). */
export function timingParts(t: { queuedMs: number | null; initMs: number | null; runMs: number | null } | null | undefined): {
  queued: number;
  init: number;
  run: number;
  total: number;
} {
  const q = t?.queuedMs ?? 0;
  const i = t?.initMs ?? 0;
  const r = t?.runMs ?? 0;
  const total = q + i + r;
  if (total <= 0) return { queued: 0, init: 0, run: 0, total: 0 };
  return { queued: q / total, init: i / total, run: r / total, total };
}
