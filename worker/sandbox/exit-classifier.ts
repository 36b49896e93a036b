/**
 * Turns how a runtime process ended into the error a run reports. Branches on the exit code,
 * signal, our own kill reason and V8's heap-limit message — never on the function's output.
 * Timeouts and cancels are not decided here: the run guard knows those before the exit happens.
 */
import type { RunError } from './types.js';
import type { ExitInfo, KillReason } from './process-sandbox.js';

const KILL_MESSAGES: Partial<Record<KillReason, RunError>> = {
  shutdown: { code: 'WORKER_LOST', message: 'the sandbox pool closed while the function ran' },
  start_timeout: { code: 'SANDBOX_CRASH', message: 'runtime process did not start in time' },
  fatal: { code: 'SANDBOX_CRASH', message: 'runtime process hit an uncaught exception and was killed' },
};

export function classifyExit(exit: ExitInfo, memoryMb: number): RunError {
  if (exit.heapExhausted) {
    return { code: 'OUT_OF_MEMORY', message: `function ran out of memory (heap limit ${memoryMb} MB)` };
  }
  if (exit.killReason === 'memory') {
    const mib = Math.round((exit.rssBytes ?? 0) / (1024 * 1024));
    return {
      code: 'OUT_OF_MEMORY',
      message: `function used too much memory (resident ${mib} MiB; memoryMb ${memoryMb} allows ${memoryMb} MiB of heap plus the runtime's own)`,
    };
  }
  if (exit.killReason === 'protocol') {
    return { code: 'SANDBOX_PROTOCOL', message: `runtime process broke the IPC protocol and was killed: ${exit.protocolError ?? 'invalid message'}` };
  }
  const known = exit.killReason ? KILL_MESSAGES[exit.killReason] : undefined;
  if (known) return { ...known };
  if (exit.killReason) return { code: 'SANDBOX_CRASH', message: `runtime process was killed (${exit.killReason})` };
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
  return { code: 'SANDBOX_CRASH', message: `runtime process ${how} while the function ran` };
}
