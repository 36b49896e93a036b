/**
 * FROZEN — the design floor is the yardstick every TaskForge number is read against
 * (docs/PERFORMANCE.md). Changing what it does changes every ratio quoted to it: a commit that
 * changes this file says why in its message, and the numbers quoted to the floor are measured again.
 *
 * Starts and stops a floor (lib/floor-role.ts), each of its parts its own process on 127.0.0.1:
 * - `design`: TaskForge's shape — a scheduler, `workers` workers with `sandboxes` sandboxes each,
 *   and a gateway; the ceiling scenario loads it exactly like the bare Fastify app and TaskForge;
 * - `http-in-scheduler`: the same without the gateway — the scheduler takes HTTP itself;
 * - `single-process`: one process taking HTTP with `workers × sandboxes` sandboxes over IPC.
 * The sandboxes run the suite's trivial handler, or with `burn` the CPU-bound scenario's handler
 * with that many iterations, so that scenario can measure the floor under its own load. With
 * `durableDir` (design shape only) the scheduler also answers `?mode=async` invokes 202 once
 * journaled there and writes each one's file there when it has run: the async scenario's floor.
 */
import { libChildScript, spawnNode, type Proc } from './proc.js';
import type { StackPids } from './role-cpu.js';

const SCRIPT = libChildScript('floor-role');
const READY_MS = 15_000;

export const FLOOR_SHAPES = ['design', 'http-in-scheduler', 'single-process'] as const;
export type FloorShape = (typeof FLOOR_SHAPES)[number];

export interface Floor {
  url: string;
  procs: Proc[];
  close(): Promise<void>;
}

const urlOf = ({ line }: { line: Record<string, unknown> }): string => `http://127.0.0.1:${line.port as number}`;

export interface FloorOptions {
  /** Iterations of the CPU-bound handler the sandboxes run instead of the trivial one. */
  burn?: number;
  /** Where the scheduler journals async invokes and writes their files (`executions/`). */
  durableDir?: string;
}

export async function startFloor(workers: number, sandboxes: number, shape: FloorShape = 'design', opts: FloorOptions = {}): Promise<Floor> {
  for (const [name, n] of [
    ['workers', workers],
    ['sandboxes', sandboxes],
    ['burn', opts.burn ?? 1],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`floor ${name} must be a whole number ≥ 1, got ${n}`);
  }
  const burn = opts.burn === undefined ? [] : [String(opts.burn)];
  if (!FLOOR_SHAPES.includes(shape)) throw new RangeError(`floor shape must be one of ${FLOOR_SHAPES.join(', ')}, got ${String(shape)}`);
  if (opts.durableDir !== undefined && (shape !== 'design' || !opts.durableDir))
    throw new RangeError(`a floor's durableDir needs the design shape and a path, got ${shape} and '${opts.durableDir}'`);
  const procs: Proc[] = [];
  // In reverse start order, the scheduler last: each process exits when the one it depends on goes.
  const close = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await p.stop();
  };
  try {
    if (shape === 'single-process') {
      const single = spawnNode('floor single', [SCRIPT, 'single', String(workers * sandboxes), ...burn]);
      procs.push(single);
      return { url: urlOf(await single.waitForLine('floor http listening', READY_MS)), procs, close };
    }
    const inScheduler = shape === 'http-in-scheduler';
    const schedulerArgs = inScheduler ? ['--http'] : opts.durableDir ? ['--durable', opts.durableDir] : [];
    const scheduler = spawnNode('floor scheduler', [SCRIPT, 'scheduler', ...schedulerArgs]);
    procs.push(scheduler);
    // Asked for before the scheduler can print it: a line is only seen by waits already made.
    const http = inScheduler ? scheduler.waitForLine('floor http listening', READY_MS) : null;
    http?.catch(() => undefined); // awaited below, once the workers are up; a failure surfaces there
    const port = String((await scheduler.waitForLine('floor scheduler listening', READY_MS)).line.port);
    const ws = Array.from({ length: workers }, (_, i) => spawnNode(`floor worker ${i + 1}`, [SCRIPT, 'worker', port, String(sandboxes), ...burn]));
    procs.push(...ws);
    await Promise.all(ws.map((w) => w.waitForLine('floor worker ready', READY_MS)));
    if (http) return { url: urlOf(await http), procs, close };
    const gateway = spawnNode('floor gateway', [SCRIPT, 'gateway', port]);
    procs.push(gateway);
    return { url: urlOf(await gateway.waitForLine('floor http listening', READY_MS)), procs, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The design floor's processes by role, so lib/role-cpu.ts reads them as it reads TaskForge's. */
export function floorPids(floor: Floor): StackPids {
  const named = (prefix: string): number[] => floor.procs.filter((p) => p.name.startsWith(prefix)).map((p) => p.pid);
  const [gateway] = named('floor gateway');
  const [scheduler] = named('floor scheduler');
  if (gateway === undefined || scheduler === undefined) throw new RangeError('floor roles: only the design shape has a gateway and a scheduler of its own');
  return { gateway, scheduler, workers: named('floor worker') };
}
