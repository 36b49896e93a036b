/** A line diff (longest common subsequence) of two versions' code, and of their settings. */
export type DiffLine = { op: ' ' | '-' | '+'; text: string; a?: number; b?: number };

/** bytes of lines × lines the table may take; beyond it the diff is whole-file (all removed, all added). */
const MAX_CELLS = 4_000_000;

export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // Common head and tail first: most edits touch a few lines in the middle.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const out: DiffLine[] = [];
  for (let i = 0; i < head; i++) out.push({ op: ' ', text: a[i]!, a: i + 1, b: i + 1 });
  const n = am.length;
  const m = bm.length;
  if (n * m > MAX_CELLS) {
    am.forEach((text, i) => out.push({ op: '-', text, a: head + i + 1 }));
    bm.forEach((text, j) => out.push({ op: '+', text, b: head + j + 1 }));
  } else {
    // lcs[i][j]: length of the LCS of am[i..] and bm[j..].
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--) lcs[i]![j] = am[i] === bm[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        out.push({ op: ' ', text: am[i]!, a: head + i + 1, b: head + j + 1 });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
        out.push({ op: '-', text: am[i]!, a: head + i + 1 });
        i++;
      } else {
        out.push({ op: '+', text: bm[j]!, b: head + j + 1 });
        j++;
      }
    }
  }
  for (let k = 0; k < tail; k++) {
    const ai = a.length - tail + k;
    const bi = b.length - tail + k;
    out.push({ op: ' ', text: a[ai]!, a: ai + 1, b: bi + 1 });
  }
  return out;
}

/** The settings that differ between two versions: [field, before, after]. */
export function diffSettings(a: Record<string, unknown>, b: Record<string, unknown>, ignore: readonly string[] = []): [string, string, string][] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !ignore.includes(k)).sort();
  const show = (v: unknown): string => (v === undefined ? '—' : JSON.stringify(v));
  return keys.filter((k) => show(a[k]) !== show(b[k])).map((k) => [k, show(a[k]), show(b[k])]);
}
