/**
 * Where the scenarios keep their data dirs. A run makes one root, every scenario's data dir is
 * made inside it and left there, and the run deletes the root once, after the last scenario.
 *
 * Why not delete each dir as its scenario ends: on an ext4 without a journal (this kind of VM),
 * creating a file skips over every inode freed in the last 60 s (up to 6 min while its inode
 * block is dirty) and reads each one's inode block to check that — `recently_deleted()` in
 * `__ext4_new_inode`. Deleting a scenario's tens of thousands of execution files therefore made
 * every file the next scenario created cost up to hundreds of µs of kernel CPU in the scheduler
 * (perf: ~27 % of its samples), so one scenario's clean-up was measured as the next one's cost.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root: string | null = null;

/** Starts the run's root; scenarios' dirs go inside it until `removeRunDataRoot`. */
export async function createRunDataRoot(): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'taskforge-bench-'));
  return root;
}

export async function removeRunDataRoot(): Promise<void> {
  if (!root) return;
  const dir = root;
  root = null;
  await rm(dir, { recursive: true, force: true });
}

/** The same, synchronously, for an interrupted run on its way out. */
export function removeRunDataRootNow(): void {
  if (root) rmSync(root, { recursive: true, force: true });
  root = null;
}

/** A fresh data dir for one stack: inside the run's root when there is one. */
export function makeDataDir(prefix: string): Promise<string> {
  return mkdtemp(join(root ?? tmpdir(), root ? `${prefix}-` : `taskforge-bench-${prefix}-`));
}

/** Removes a dir made by `makeDataDir`, unless the run's root will (see above). */
export async function releaseDataDir(dir: string): Promise<void> {
  if (root && dir.startsWith(root)) return;
  await rm(dir, { recursive: true, force: true });
}
