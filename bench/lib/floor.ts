/**
 * Starts and stops a floor (lib/floor-role.ts), each of its parts its own process on 127.0.0.1:
 * - `design`: TaskForge's shape — a scheduler, `workers` workers with `sandboxes` sandboxes each,
 *   and a gateway; the ceiling scenario loads it exactly like the bare Fastify app and TaskForge;
 * - `http-in-scheduler`: the same without the gateway — the scheduler takes HTTP itself;
 * - `single-process`: one process taking HTTP with `workers × sandboxes` sandboxes over IPC.
 */
import { libChildScript, spawnNode, type Proc } from './proc.js';

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

export async function startFloor(workers: number, sandboxes: number, shape: FloorShape = 'design'): Promise<Floor> {
  for (const [name, n] of [['workers', workers], ['sandboxes', sandboxes]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`floor ${name} must be a whole number ≥ 1, got ${n}`);
  }
  if (!FLOOR_SHAPES.includes(shape)) throw new RangeError(`floor shape must be one of ${FLOOR_SHAPES.join(', ')}, got ${String(shape)}`);
  const procs: Proc[] = [];
  // In reverse start order, the scheduler last: each process exits when the one it depends on goes.
  const close = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await p.stop();
  };
  try {
    if (shape === 'single-process') {
      const single = spawnNode('floor single', [SCRIPT, 'single', String(workers * sandboxes)]);
      procs.push(single);
      return { url: urlOf(await single.waitForLine('floor http listening', READY_MS)), procs, close };
    }
    const inScheduler = shape === 'http-in-scheduler';
    const scheduler = spawnNode('floor scheduler', [SCRIPT, 'scheduler', ...(inScheduler ? ['--http'] : [])]);
    procs.push(scheduler);
    // Asked for before the scheduler can print it: a line is only seen by waits already made.
    const http = inScheduler ? scheduler.waitForLine('floor http listening', READY_MS) : null;
    http?.catch(() => undefined); // awaited below, once the workers are up; a failure surfaces there
    const port = String((await scheduler.waitForLine('floor scheduler listening', READY_MS)).line.port);
    const ws = Array.from({ length: workers }, (_, i) => spawnNode(`floor worker ${i + 1}`, [SCRIPT, 'worker', port, String(sandboxes)]));
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
