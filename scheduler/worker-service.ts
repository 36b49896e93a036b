/**
 * WorkerService.Connect: one bidirectional stream per worker (see proto/PROTOCOL.md).
 * The first message must be Hello; everything after it is routed to the registry (liveness)
 * or the dispatcher (executions). It never decides placement or status itself.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { hopTrace } from '../common/hop-trace.js';
import type { SchedulerMessage, WorkerMessage } from '../proto/gen/taskforge/v1/worker.js';
import type { WorkerServiceServer } from '../proto/gen/taskforge/v1/worker.js';
import { REASON } from '../common/logger.js';
import type { Dispatcher } from './dispatcher.js';
import type { RegisteredWorker, WorkerRegistry } from './worker-registry.js';

export interface WorkerServiceDeps {
  registry: WorkerRegistry;
  dispatcher: Dispatcher;
  heartbeatIntervalMs: number;
  log: Logger;
  /** False once the scheduler is shutting down: new streams are refused. */
  accepting: () => boolean;
}

export function createWorkerService(deps: WorkerServiceDeps): WorkerServiceServer {
  return {
    connect(call: ServerDuplexStream<WorkerMessage, SchedulerMessage>): void {
      if (!deps.accepting()) {
        call.end();
        return;
      }
      let worker: RegisteredWorker | undefined;
      let closed = false;
      const connection = {
        send(message: SchedulerMessage): void {
          if (!closed) call.write(message);
        },
        end(): void {
          if (closed) return;
          closed = true;
          call.end();
        },
      };

      call.on('data', (message: WorkerMessage) => {
        try {
          const m = message.msg;
          if (!m) return;
          if (!worker) {
            if (m.$case !== 'hello') {
              deps.log.warn({ case: m.$case }, 'first message was not Hello; closing stream');
              connection.end();
              return;
            }
            const hello = m.value;
            if (!/^[A-Za-z0-9_-]{1,64}$/.test(hello.workerId)) {
              deps.log.warn({ workerId: hello.workerId.slice(0, 64) }, 'invalid worker id; closing stream');
              connection.end();
              return;
            }
            const { worker: w, previous } = deps.registry.register(hello, connection);
            worker = w;
            const kill = deps.dispatcher.adopt(w, hello.held, previous);
            connection.send({ msg: { $case: 'welcome', value: { workerId: w.id, heartbeatIntervalMs: deps.heartbeatIntervalMs, kill } } });
            deps.log.info({ workerId: w.id, name: w.name, capacity: w.capacity, held: hello.held.length, kill: kill.length }, 'worker connected');
            deps.dispatcher.schedulePump();
            return;
          }
          if (worker.status === 'lost') return;
          switch (m.$case) {
            case 'heartbeat': {
              const wasReady = worker.status === 'ready';
              deps.registry.heartbeat(worker, m.value);
              if (wasReady && worker.status === 'draining') deps.log.info({ workerId: worker.id, reason: REASON.drain }, 'worker draining');
              deps.dispatcher.schedulePump();
              break;
            }
            case 'started':
              deps.dispatcher.onStarted(worker, m.value);
              break;
            case 'log':
              deps.dispatcher.onLog(worker, m.value);
              break;
            case 'result':
              hopTrace.mark('S3 scheduler result read');
              deps.dispatcher.onResult(worker, m.value);
              break;
            case 'hello':
              deps.log.warn({ workerId: worker.id }, 'second Hello on one stream ignored');
              break;
          }
        } catch (err) {
          deps.log.error({ err, workerId: worker?.id }, 'worker message failed');
        }
      });

      let gone = false;
      const onGone = (reason: string) => (err?: Error) => {
        if (gone) return;
        gone = true;
        closed = true;
        if (worker) {
          deps.log.warn({ workerId: worker.id, reason: REASON.streamClosed, detail: reason, err: err?.message }, 'worker stream closed');
          deps.registry.streamClosed(worker);
        }
        try {
          call.end();
        } catch {
          // already ended
        }
      };
      call.on('end', onGone('end'));
      call.on('error', onGone('error'));
      call.on('cancelled', onGone('cancelled'));
    },
  };
}
