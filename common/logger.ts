/**
 * pino for every process. JSON lines by default; `taskforge dev` pretty-prints the merged
 * stream of its children. Lines about an execution carry `executionId` first.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  component: string;
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? process.env.TASKFORGE_LOG_LEVEL ?? 'info';
  const base = { component: opts.component };
  return opts.destination ? pino({ level, base }, opts.destination) : pino({ level, base });
}

/** A logger that drops everything: the default for components built in tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Fixed vocabulary for log reasons, so lines can be grepped and counted. */
export const REASON = {
  workerLost: 'worker_lost',
  heartbeatMissed: 'heartbeat_missed',
  streamClosed: 'stream_closed',
  staleLease: 'stale_lease',
  timeout: 'timeout',
  cancelled: 'cancelled',
  retry: 'retry',
  poisonPill: 'poison_pill',
  unauthenticated: 'unauthenticated',
  duplicateWorker: 'duplicate_worker',
  badClaim: 'bad_claim',
  expired: 'expired',
  drain: 'drain',
  shutdown: 'shutdown',
} as const;
