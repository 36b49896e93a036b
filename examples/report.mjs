// A text report from JSON input: a list of rows (here, the commits of a push or any objects
// with a `group` and an `amount`) becomes a plain-text table with totals per group.
const pad = (s, n) => String(s).padEnd(n);

export default async function report(event) {
  const rows = Array.isArray(event?.rows) ? event.rows : (event?.commits ?? []).map((c) => ({ group: c.author ?? 'unknown', amount: 1 }));
  const totals = new Map();
  for (const r of rows) totals.set(r.group, (totals.get(r.group) ?? 0) + Number(r.amount ?? 0));
  const sorted = [...totals].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
  const width = Math.max(5, ...sorted.map(([g]) => String(g).length));
  const title = event?.title ?? 'Report';
  const lines = [title, '='.repeat(title.length), `${pad('GROUP', width)}  TOTAL`, ...sorted.map(([g, t]) => `${pad(g, width)}  ${t}`)];
  lines.push(`${pad('all', width)}  ${sorted.reduce((sum, [, t]) => sum + t, 0)}`);
  return { text: lines.join('\n'), groups: sorted.length };
}
