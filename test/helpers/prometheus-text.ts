/**
 * A small reader of the Prometheus text exposition format (version 0.0.4), for tests that check
 * what a scraper would see: every sample line becomes { name, labels, value }; comments (HELP,
 * TYPE) are kept per metric family so a test can assert a family's type. Throws on a line it
 * cannot read, so a malformed exposition fails the test instead of being skipped.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Family name → its `# TYPE`. */
  types: Map<string, string>;
  /**
   * The value of the one sample named `name` whose labels include `labels` exactly (no other
   * labels), or 0 when there is none (a counter never incremented is absent, which reads as 0).
   */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum of every sample named `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`unreadable labels in metrics line: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(text: string): number | null {
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  const n = Number(text);
  return Number.isNaN(n) ? null : n;
}

const includes = (labels: Record<string, string>, want: Record<string, string>): boolean => Object.entries(want).every(([k, v]) => labels[k] === v);

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const t = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (t) {
        if (types.has(t[1]!)) throw new Error(`metric family ${t[1]} is declared twice`);
        types.set(t[1]!, t[2]!);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`unreadable metrics line: ${line}`);
    const value = parseValue(m[3]!);
    if (value === null) throw new Error(`unreadable value in metrics line: ${line}`);
    samples.push({ name: m[1]!, labels: m[2] ? parseLabels(m[2], line) : {}, value });
  }
  return {
    samples,
    types,
    value(name, labels = {}) {
      const n = Object.keys(labels).length;
      const hits = samples.filter((s) => s.name === name && Object.keys(s.labels).length === n && includes(s.labels, labels));
      if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
      return hits[0]?.value ?? 0;
    },
    sum(name, labels = {}) {
      return samples.filter((s) => s.name === name && includes(s.labels, labels)).reduce((a, s) => a + s.value, 0);
    },
  };
}
