/**
 * The workflow calls of ControlService (proto/taskforge/v1/control.proto): each parses what it
 * gets, asks the engine, and answers JSON in the API's shape. control-service.ts mounts them.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  ControlServiceServer,
  IdRequest,
  ListWorkflowRunsRequest,
  NameRequest,
  PutWorkflowRequest,
  StartWorkflowRunRequest,
} from '../../proto/gen/taskforge/v1/control.js';
import { TaskForgeError } from '../../common/errors.js';
import { toGrpcError } from '../../common/grpc-errors.js';
import { assertFunctionName } from '../../common/names.js';
import type { WorkflowRunView } from '../../common/workflows.js';
import type { ExecutionState } from '../execution/state.js';
import type { WorkflowEngine } from './engine.js';
import { apiRun } from './run-view.js';

type WorkflowCalls = Pick<
  ControlServiceServer,
  'putWorkflow' | 'getWorkflow' | 'listWorkflows' | 'deleteWorkflow' | 'startWorkflowRun' | 'getWorkflowRun' | 'listWorkflowRuns' | 'cancelWorkflowRun'
>;

/** A unary handler whose TaskForgeErrors travel to the gateway intact (as in control-service.ts). */
function unary<Req, Res>(log: Logger, fn: (req: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (!(err instanceof TaskForgeError)) log.error({ err }, 'control call failed');
          callback(toGrpcError(err), null);
        },
      );
  };
}

export function workflowCalls(engine: WorkflowEngine, state: ExecutionState, log: Logger): WorkflowCalls {
  const json = (value: unknown): { json: string } => ({ json: JSON.stringify(value) });
  const view = (run: Parameters<typeof apiRun>[0], withPayload = true): WorkflowRunView => apiRun(run, (id) => state.index.get(id), withPayload);
  return {
    putWorkflow: unary(log, async (req: PutWorkflowRequest) => {
      let spec: unknown;
      try {
        spec = JSON.parse(req.specJson);
      } catch {
        throw new TaskForgeError('VALIDATION_ERROR', 'body: not valid JSON', { field: 'body', reason: 'invalid_json' });
      }
      const { workflow, created } = await engine.define(req.name, spec);
      return json({ workflow, created });
    }),
    getWorkflow: unary(log, (req: NameRequest) => json(engine.get(req.name))),
    listWorkflows: unary(log, (_req: unknown) => json({ workflows: engine.list() })),
    deleteWorkflow: unary(log, async (req: NameRequest) => {
      await engine.delete(req.name);
      return {};
    }),
    startWorkflowRun: unary(log, async (req: StartWorkflowRunRequest) => {
      const { run, created } = await engine.startKeyed(req.name, req.inputJson, req.idempotencyKey || null);
      return json({ run: view(run), created });
    }),
    getWorkflowRun: unary(log, (req: IdRequest) => json(view(engine.getRun(req.id)))),
    listWorkflowRuns: unary(log, (req: ListWorkflowRunsRequest) => {
      for (const f of req.functions) assertFunctionName(f);
      const page = engine.listRuns({
        ...(req.workflow && { workflow: req.workflow }),
        ...(req.cursor && { cursor: req.cursor }),
        limit: req.limit,
        ...(req.functions.length > 0 && { functions: new Set(req.functions) }),
      });
      return json({ runs: page.runs.map((r) => view(r, false)), nextCursor: page.nextCursor });
    }),
    cancelWorkflowRun: unary(log, async (req: IdRequest) => json(view(await engine.cancel(req.id)))),
  };
}
