/**
 * PoolService.Connect: one bidirectional stream per pool supervisor (proto/PROTOCOL.md, "Pools").
 * The first message must be a PoolHello with a valid name and sane numbers; then the pool is
 * listed (PoolRegistry), gets a PoolWelcome, and a LoadReport every `loadIntervalMs` while the
 * stream lasts. Its state updates and scale answers go to the registry. It never decides a
 * pool's size: the pool (or a scale request through the API) does.
 */
import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { FUNCTION_NAME_RE } from '../../common/names.js';
import type { LoadReport, PoolCommand, PoolMessage, PoolServiceServer, PoolState } from '../../proto/gen/taskforge/v1/pool.js';
import type { PoolEntry, PoolRegistry } from './pool-registry.js';

export interface PoolServiceDeps {
  pools: PoolRegistry;
  /** The cluster's load now. */
  load: () => LoadReport;
  loadIntervalMs: number;
  log: Logger;
  /** False once the scheduler is shutting down: new streams are refused. */
  accepting: () => boolean;
}

/** Bounds a pool may claim: as many workers as a cluster could sensibly run on one host. */
export const MAX_POOL_WORKERS = 1024;

/** Why a pool's claimed numbers are refused, or null. */
export function checkPoolState(s: PoolState | undefined): string | null {
  if (!s) return 'no state';
  if (s.max < 1 || s.max > MAX_POOL_WORKERS) return `max must be 1…${MAX_POOL_WORKERS}`;
  if (s.min > s.max) return 'min must not exceed max';
  if (s.target > MAX_POOL_WORKERS || s.current > MAX_POOL_WORKERS) return `counts must be at most ${MAX_POOL_WORKERS}`;
  if (s.workerCapacity < 1) return 'workerCapacity must be at least 1';
  return null;
}

export function createPoolService(deps: PoolServiceDeps): PoolServiceServer {
  return {
    connect(call: ServerDuplexStream<PoolMessage, PoolCommand>): void {
      if (!deps.accepting()) {
        call.end();
        return;
      }
      let entry: PoolEntry | null = null;
      let closed = false;
      let ticker: NodeJS.Timeout | null = null;
      const send = (cmd: PoolCommand): void => {
        if (!closed) call.write(cmd);
      };
      const end = (): void => {
        if (closed) return;
        closed = true;
        call.end();
      };
      const refuse = (code: GrpcStatus, details: string): void => {
        if (closed) return;
        closed = true;
        call.emit('error', Object.assign(new Error(details), { code, details }));
      };
      call.on('data', (message: PoolMessage) => {
        const m = message.msg;
        if (!m || closed) return;
        if (!entry) {
          if (m.$case !== 'hello') return refuse(GrpcStatus.INVALID_ARGUMENT, 'the first message must be a PoolHello');
          const hello = m.value;
          const bad = FUNCTION_NAME_RE.test(hello.name) ? checkPoolState(hello.state) : `name must match ${FUNCTION_NAME_RE.source}`;
          if (bad) {
            deps.log.warn({ pool: hello.name.slice(0, 64), detail: bad }, 'pool hello refused');
            return refuse(GrpcStatus.INVALID_ARGUMENT, `PoolHello refused: ${bad}`);
          }
          entry = deps.pools.attach(hello.name, hello.host.slice(0, 255), hello.state!, { send, end });
          if (!entry) return refuse(GrpcStatus.ALREADY_EXISTS, `pool '${hello.name}' is already connected on another stream`);
          send({ msg: { $case: 'welcome', value: { loadIntervalMs: deps.loadIntervalMs } } });
          send({ msg: { $case: 'load', value: deps.load() } });
          ticker = setInterval(() => send({ msg: { $case: 'load', value: deps.load() } }), deps.loadIntervalMs);
          ticker.unref();
          deps.log.info({ pool: entry.name, host: entry.host, ...hello.state }, 'pool connected');
          return;
        }
        if (m.$case === 'state') {
          if (checkPoolState(m.value) === null) deps.pools.update(entry, m.value);
        } else if (m.$case === 'scaleResult') {
          deps.pools.answered(entry, m.value);
        }
      });
      let gone = false;
      const onGone = (): void => {
        if (gone) return;
        gone = true;
        closed = true;
        if (ticker) clearInterval(ticker);
        if (entry) {
          deps.pools.detach(entry);
          deps.log.warn({ pool: entry.name }, 'pool disconnected');
        }
        try {
          call.end();
        } catch {
          // already ended
        }
      };
      call.on('end', onGone);
      call.on('error', onGone);
      call.on('cancelled', onGone);
    },
  };
}
