/**
 * Summarises V8 .cpuprofile files (from `node --cpu-prof`): self time aggregated by function and
 * script, top N per file, as a share of the samples that were not idle. Usage:
 *   node dist/bench/tools/profile-summary.js <dir-or-file>… [--top N]
 * A directory is searched recursively; each file is one process.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Not work of the process: the event loop waiting. (program) and (garbage collector) are work. */
const IDLE = new Set(['(idle)']);

function files(paths: string[]): string[] {
  return paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).flatMap((e) => files([join(p, e)])) : p.endsWith('.cpuprofile') ? [p] : []));
}

/** node_modules/<pkg>/… or the path under the repo, instead of a whole file URL. */
function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  const dist = path.lastIndexOf('/dist/');
  return dist >= 0 ? path.slice(dist + 1) : path;
}

const frameName = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`.trim();

/**
 * A native frame (no script: writev, writeUtf8String, openFileHandle…) says little alone, so it
 * is named with the nearest JavaScript caller that has a script: `writev ← writeOrBuffer net:…`.
 */
function keyOf(node: ProfileNode, parents: Map<number, ProfileNode>): string {
  const f = node.callFrame;
  if (f.url || f.functionName.startsWith('(')) return frameName(f);
  for (let p = parents.get(node.id); p; p = parents.get(p.id)) {
    if (p.callFrame.url) return `${frameName(f)} ← ${frameName(p.callFrame)}`;
  }
  return frameName(f);
}

export function summarise(profile: Profile, top: number): { totalMs: number; busyMs: number; rows: Array<{ name: string; ms: number; pct: number }> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n);
  const self = new Map<string, number>();
  let totalMs = 0;
  let busyMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += dt;
    if (!node) continue;
    const f = node.callFrame;
    if (IDLE.has(f.functionName)) continue;
    busyMs += dt;
    const key = keyOf(node, parents);
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, pct: (100 * ms) / busyMs }));
  return { totalMs, busyMs, rows };
}

function main(argv: string[]): void {
  const topAt = argv.indexOf('--top');
  const top = topAt >= 0 ? Number(argv[topAt + 1]) : 15;
  const paths = argv.filter((a, i) => a !== '--top' && i !== topAt + 1);
  if (paths.length === 0) {
    process.stderr.write('usage: profile-summary <dir-or-file>… [--top N]\n');
    process.exitCode = 2;
    return;
  }
  for (const root of paths)
    for (const file of files([root])) {
      const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, top);
      const label = relative(root, file) || basename(file);
      console.log(
        `\n${label}: ${(s.totalMs / 1000).toFixed(1)} s profiled, ${(s.busyMs / 1000).toFixed(1)} s busy (${((100 * s.busyMs) / s.totalMs).toFixed(0)} %)`,
      );
      for (const r of s.rows) console.log(`  ${r.pct.toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`);
    }
}

main(process.argv.slice(2));
