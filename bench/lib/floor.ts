/**
 * Starts and stops the design floor (lib/floor-role.ts): a scheduler, `workers` workers with
 * `sandboxes` sandboxes each, and a gateway, each its own process like TaskForge's, all on
 * 127.0.0.1. The ceiling scenario loads it exactly like the bare Fastify app and like TaskForge.
 */
import { libChildScript, spawnNode, type Proc } from './proc.js';

const SCRIPT = libChildScript('floor-role');
const READY_MS = 15_000;

export interface Floor {
  url: string;
  procs: Proc[];
  close(): Promise<void>;
}

export async function startFloor(workers: number, sandboxes: number): Promise<Floor> {
  for (const [name, n] of [['workers', workers], ['sandboxes', sandboxes]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`floor ${name} must be a whole number ≥ 1, got ${n}`);
  }
  const procs: Proc[] = [];
  // Gateway first, scheduler last: each process exits when the one it depends on goes.
  const close = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await p.stop();
  };
  try {
    const scheduler = spawnNode('floor scheduler', [SCRIPT, 'scheduler']);
    procs.push(scheduler);
    const port = String((await scheduler.waitForLine('floor scheduler listening', READY_MS)).line.port);
    const ws = Array.from({ length: workers }, (_, i) => spawnNode(`floor worker ${i + 1}`, [SCRIPT, 'worker', port, String(sandboxes)]));
    procs.push(...ws);
    await Promise.all(ws.map((w) => w.waitForLine('floor worker ready', READY_MS)));
    const gateway = spawnNode('floor gateway', [SCRIPT, 'gateway', port]);
    procs.push(gateway);
    const { line } = await gateway.waitForLine('floor gateway listening', READY_MS);
    return { url: `http://127.0.0.1:${line.port as number}`, procs, close };
  } catch (err) {
    await close();
    throw err;
  }
}
