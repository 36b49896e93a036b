/**
 * A real scheduler in this process on port 0 with its own temp data dir, a gateway-side control
 * client that holds its control token, and hand-driven workers (fake-worker.ts) — for tests that
 * attack the scheduler's gRPC surface directly, with no worker processes or HTTP in between.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTokenFile } from '../../common/grpc-auth.js';
import type { ControlClient } from '../../gateway/control-client.js';
import { createGrpcControlClient } from '../../gateway/scheduler-client.js';
import type { SchedulerOptionsInput } from '../../scheduler/options.js';
import { startScheduler, type SchedulerHandle } from '../../scheduler/server.js';
import { FakeWorker, type FakeWorkerOptions } from './fake-worker.js';
import { memoryLog, type LogLine } from './memory-log.js';

export interface BareScheduler {
  handle: SchedulerHandle;
  address: string;
  dataDir: string;
  control: ControlClient;
  joinToken: string;
  controlToken: string;
  /** The scheduler's log lines. */
  log: { lines: LogLine[]; find(match: (l: LogLine) => boolean): LogLine[] };
  /** A new hand-driven worker connection, with the join token unless `opts.token` says otherwise. */
  worker(opts?: FakeWorkerOptions): FakeWorker;
  close(): Promise<void>;
}

export async function startBareScheduler(opts: SchedulerOptionsInput = {}): Promise<BareScheduler> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'taskforge-bare-')));
  const log = memoryLog();
  // Long heartbeats: a fake worker that never beats stays live for the whole test.
  const handle = await startScheduler({ port: 0, dataDir, heartbeatIntervalMs: 60_000, logger: log.logger, ...opts });
  const joinToken = readTokenFile(handle.tokenFiles.join);
  const controlToken = readTokenFile(handle.tokenFiles.control);
  const control = createGrpcControlClient(handle.address, { callTimeoutMs: 5000, controlToken, ...(opts.tls ? { tls: opts.tls } : {}) });
  return {
    handle,
    address: handle.address,
    dataDir,
    control,
    joinToken,
    controlToken,
    log,
    worker: (o = {}) => new FakeWorker(handle.address, { token: joinToken, ...o }),
    async close() {
      control.close();
      await handle.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
