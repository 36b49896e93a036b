/**
 * Workflow routes (docs/WORKFLOWS.md): define, read, list and delete workflows; start, read, list
 * and cancel their runs. The scheduler validates the DAG and owns the runs; the gateway checks
 * names and keys and passes the records through.
 *
 * A key limited to some functions may touch a workflow (and its runs) only when every step calls
 * one of its functions; any other workflow or run is NOT_FOUND to it (404, as for one that does
 * not exist), and defining one with a step outside its functions is FORBIDDEN naming that step.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { assertWorkflowName } from '../../common/names.js';
import { runNotFound, workflowNotFound, type WorkflowDefinition, type WorkflowRunView } from '../../common/workflows.js';
import { mayUseFunctions } from '../access.js';
import { forbidden, principalOf } from '../auth.js';
import type { ControlClient } from '../control-client.js';
import { atField } from '../errors.js';
import { CancelBody, DEFAULT_LIST_LIMIT, IdParams, InvokeHeaders, ListRunsQuery, RunInput, WorkflowBody, WorkflowParams } from '../schemas.js';
import {
  NoContent,
  RunAccepted,
  WorkflowDefinition as WorkflowSchema,
  WorkflowList,
  WorkflowRun,
  WorkflowRunPage,
  errorResponses,
} from '../response-schemas.js';

export interface WorkflowRoutesOptions {
  control: ControlClient;
}

export const runUrl = (id: string): string => `/v1/workflow-runs/${id}`;

const stepFunctions = (steps: readonly { function: string }[]): string[] => steps.map((s) => s.function);
const runFunctions = (run: WorkflowRunView): string[] => Object.values(run.steps).map((s) => s.function);

export const workflowRoutes: FastifyPluginAsyncTypebox<WorkflowRoutesOptions> = async (app, { control }) => {
  const checkName = (name: string): void => atField('params.workflow', () => assertWorkflowName(name));

  /** The workflow, or NOT_FOUND when this key may not see it. */
  const visibleWorkflow = async (request: FastifyRequest, name: string): Promise<WorkflowDefinition> => {
    const wf = await control.getWorkflow(name);
    if (!mayUseFunctions(principalOf(request), stepFunctions(wf.steps))) throw workflowNotFound(name);
    return wf;
  };
  const visibleRun = async (request: FastifyRequest, id: string): Promise<WorkflowRunView> => {
    const run = await control.getWorkflowRun(id);
    if (!mayUseFunctions(principalOf(request), runFunctions(run))) throw runNotFound(id);
    return run;
  };

  app.put(
    '/v1/workflows/:workflow',
    {
      config: { access: 'workflows:write' },
      schema: {
        description:
          'Defines (201) or replaces (200) a workflow: a DAG of steps, each a function. Cycles, unknown steps or functions, and references to outputs a step does not need are refused (400 VALIDATION_ERROR naming the step and field). Runs already started keep the steps they started with.',
        params: WorkflowParams,
        body: WorkflowBody,
        response: { 200: WorkflowSchema, 201: WorkflowSchema, ...errorResponses('FORBIDDEN', 'STORAGE_UNAVAILABLE') },
      },
    },
    async (request, reply) => {
      const name = request.params.workflow;
      checkName(name);
      const p = principalOf(request);
      if (p.functions !== null) {
        request.body.steps.forEach((s, i) => {
          if (!mayUseFunctions(p, [s.function])) throw forbidden({ reason: 'function', field: `body.steps[${i}].function` });
        });
        // Replacing a workflow this key may not see would be a way around it.
        const existing = await control.getWorkflow(name).catch(() => null);
        if (existing && !mayUseFunctions(p, stepFunctions(existing.steps))) throw forbidden({ reason: 'function', field: 'params.workflow' });
      }
      const { workflow, created } = await control.putWorkflow(name, request.body);
      return reply.code(created ? 201 : 200).send(workflow);
    },
  );

  app.get(
    '/v1/workflows',
    { config: { access: 'workflows:read' }, schema: { description: 'Every workflow this key may see, by name.', response: { 200: WorkflowList } } },
    async (request) => {
      const p = principalOf(request);
      return { workflows: (await control.listWorkflows()).filter((wf) => mayUseFunctions(p, stepFunctions(wf.steps))) };
    },
  );

  app.get(
    '/v1/workflows/:workflow',
    {
      config: { access: 'workflows:read' },
      schema: { description: 'A workflow definition.', params: WorkflowParams, response: { 200: WorkflowSchema, ...errorResponses('NOT_FOUND') } },
    },
    async (request) => {
      checkName(request.params.workflow);
      return visibleWorkflow(request, request.params.workflow);
    },
  );

  app.delete(
    '/v1/workflows/:workflow',
    {
      config: { access: 'workflows:write' },
      schema: {
        description: 'Deletes a workflow definition. Its runs, finished or not, stay (a running run finishes with the steps it started with).',
        params: WorkflowParams,
        response: { 204: NoContent, ...errorResponses('NOT_FOUND') },
      },
    },
    async (request, reply) => {
      checkName(request.params.workflow);
      await visibleWorkflow(request, request.params.workflow);
      await control.deleteWorkflow(request.params.workflow);
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/workflows/:workflow/runs',
    {
      config: { access: 'workflows:run' },
      schema: {
        description:
          "Starts a run with the body as its input. 202 once the run and its first steps' executions are durable; steps whose needs are met run in parallel. An `idempotency-key` seen for this workflow within 24 h answers the first run (`idempotent-replayed: true`).",
        params: WorkflowParams,
        headers: InvokeHeaders,
        body: RunInput,
        response: { 202: RunAccepted, ...errorResponses('NOT_FOUND', 'IDEMPOTENCY_MISMATCH', 'STORAGE_UNAVAILABLE') },
      },
    },
    async (request, reply) => {
      const name = request.params.workflow;
      checkName(name);
      if (principalOf(request).functions !== null) await visibleWorkflow(request, name);
      const { run, created } = await control.startWorkflowRun(name, JSON.stringify(request.body ?? null), request.headers['idempotency-key'] ?? null);
      const statusUrl = runUrl(run.id);
      if (!created) reply.header('idempotent-replayed', 'true');
      return reply.code(202).header('location', statusUrl).send({ runId: run.id, status: run.status, statusUrl });
    },
  );

  app.get(
    '/v1/workflow-runs',
    {
      config: { access: 'workflows:read' },
      schema: {
        description: 'Runs without input and output, newest first, a page at a time; `workflow` filters.',
        querystring: ListRunsQuery,
        response: { 200: WorkflowRunPage },
      },
    },
    async (request) => {
      const { workflow, limit, cursor } = request.query;
      if (workflow !== undefined) atField('query.workflow', () => assertWorkflowName(workflow));
      const p = principalOf(request);
      return control.listWorkflowRuns({
        ...(workflow !== undefined && { workflow }),
        limit: limit ?? DEFAULT_LIST_LIMIT,
        ...(cursor !== undefined && { cursor }),
        ...(p.functions !== null && { functions: p.functions }),
      });
    },
  );

  app.get(
    '/v1/workflow-runs/:id',
    {
      config: { access: 'workflows:read' },
      schema: {
        description: 'A run: its status, each step (status, executionId) and, once succeeded, its output.',
        params: IdParams,
        response: { 200: WorkflowRun, ...errorResponses('NOT_FOUND') },
      },
    },
    async (request) => visibleRun(request, request.params.id),
  );

  app.post(
    '/v1/workflow-runs/:id/cancel',
    {
      config: { access: 'workflows:run' },
      schema: {
        description: 'Cancels a running run: steps not started are cancelled, queued and running step executions are sent a cancel. 409 once finished.',
        params: IdParams,
        body: CancelBody,
        response: { 200: WorkflowRun, ...errorResponses('NOT_FOUND', 'EXECUTION_FINISHED') },
      },
    },
    async (request) => {
      await visibleRun(request, request.params.id);
      return control.cancelWorkflowRun(request.params.id);
    },
  );
};
