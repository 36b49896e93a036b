/**
 * WorkerService.Connect: one bidirectional stream per worker (see proto/PROTOCOL.md).
 * The first message must be Hello; everything after it is routed to the registry (liveness)
 * or the dispatcher (executions). It never decides placement or status itself.
 * The caller is already authenticated (auth-interceptor.ts); what it claims is still checked
 * (worker-claims.ts), and a stream whose claims are refused is ended with a status that says why.
 */
import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { markHop } from '../common/diagnostics.js';
import type { SchedulerMessage, WorkerMessage } from '../proto/gen/taskforge/v1/worker.js';
import type { WorkerServiceServer } from '../proto/gen/taskforge/v1/worker.js';
import { REASON } from '../common/logger.js';
import type { Dispatcher } from './dispatch/dispatcher.js';
import { checkHeartbeat, checkHello } from './worker-claims.js';
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
      /** Ends the stream with a non-OK status (the worker sees it as the call's error). */
      const refuse = (code: GrpcStatus, details: string): void => {
        if (closed) return;
        closed = true;
        call.emit('error', Object.assign(new Error(details), { code, details }));
      };

      call.on('data', (message: WorkerMessage) => {
        try {
          const m = message.msg;
          // Nothing more is read from a stream this side has ended (a refused Hello above all).
          if (!m || closed) return;
          if (!worker) {
            if (m.$case !== 'hello') {
              deps.log.warn({ case: m.$case }, 'first message was not Hello; closing stream');
              connection.end();
              return;
            }
            const hello = m.value;
            const checked = checkHello(hello);
            if (!checked.ok) {
              deps.log.warn({ workerId: hello.workerId.slice(0, 64), reason: REASON.badClaim, detail: checked.reason }, 'Hello refused; closing stream');
              refuse(GrpcStatus.INVALID_ARGUMENT, `Hello refused: ${checked.reason}`);
              return;
            }
            const registered = deps.registry.register(checked.value, connection);
            if (!registered.ok) {
              // Bound to its connection: a second Hello for a live id is refused, the live worker is untouched.
              deps.log.warn(
                { workerId: hello.workerId, reason: REASON.duplicateWorker, peer: call.getPeer() },
                'Hello for a worker id that is still connected refused',
              );
              refuse(GrpcStatus.ALREADY_EXISTS, `worker ${hello.workerId} is already connected on another stream; retry once that stream is gone`);
              return;
            }
            const w = registered.worker;
            worker = w;
            const kill = deps.dispatcher.adopt(w, hello.held);
            connection.send({ msg: { $case: 'welcome', value: { workerId: w.id, heartbeatIntervalMs: deps.heartbeatIntervalMs, kill } } });
            deps.log.info(
              { workerId: w.id, name: w.name, capacity: w.capacity, sandbox: w.sandbox, held: hello.held.length, kill: kill.length },
              'worker connected',
            );
            deps.dispatcher.schedulePump();
            return;
          }
          if (worker.status === 'lost') return;
          switch (m.$case) {
            case 'heartbeat': {
              const checked = checkHeartbeat(m.value);
              if (!checked.ok) {
                deps.log.warn({ workerId: worker.id, reason: REASON.badClaim, detail: checked.reason }, 'heartbeat refused; closing stream');
                // The worker is lost through the stream's end (onGone below).
                refuse(GrpcStatus.INVALID_ARGUMENT, `Heartbeat refused: ${checked.reason}`);
                return;
              }
              const wasReady = worker.status === 'ready';
              deps.registry.heartbeat(worker, checked.value);
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
              markHop('S3 scheduler result read');
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
