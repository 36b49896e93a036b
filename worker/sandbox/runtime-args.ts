/**
 * The command line a runtime process runs with (process-sandbox.ts spawns it inside the pool's
 * isolation): Node's permission model and what it may read and write, no inspector, the heap limit.
 */
import { dirname } from 'node:path';

export function permissionFlag(nodeVersion: string = process.versions.node): string {
  return Number(nodeVersion.split('.')[0]) >= 22 ? '--permission' : '--experimental-permission';
}

export function runtimeArgs(runtimePath: string, memoryMb: number, opts: { writableTmp?: boolean; codeDir?: string } = {}): string[] {
  return [
    permissionFlag(),
    // Only the runtime's own directory and the process's code directory are readable: no child
    // processes, workers or addons, and no writes — except the private /tmp when the OS boundary
    // made one (the host's /tmp is never it).
    `--allow-fs-read=${dirname(runtimePath)}`,
    ...(opts.codeDir ? [`--allow-fs-read=${opts.codeDir}`] : []),
    ...(opts.writableTmp ? ['--allow-fs-read=/tmp', '--allow-fs-write=/tmp'] : []),
    '--disable-sigusr1',
    `--max-old-space-size=${memoryMb}`,
    '--disable-warning=ExperimentalWarning',
    runtimePath,
  ];
}
