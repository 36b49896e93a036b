/**
 * `taskforge workflow …` (docs/WORKFLOWS.md): define a workflow from a JSON file, list, show and
 * delete definitions; start a run (and wait for it with --wait), show, list and cancel runs.
 * `run --wait` exits like `invoke`: 0 succeeded, 4 failed, 6 cancelled.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { WorkflowInput, WorkflowRunView } from '../../client/index.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { CliError, printJson, table, when } from '../output.js';
import { action, intFlag, type Ctx } from './context.js';
import { readInput } from './invoke.js';

/** Between two polls of a run that has not ended (a run has no long-poll). */
const POLL_MS = 250;

const EXIT_FOR_RUN: Record<WorkflowRunView['status'], ExitCode> = { running: EXIT.error, succeeded: EXIT.ok, failed: EXIT.failed, cancelled: EXIT.cancelled };

function describeRun(run: WorkflowRunView): string {
  const lines = [`run ${run.id}  ${run.workflow} v${run.workflowVersion}  ${run.status}  created ${when(run.createdAt)}  finished ${when(run.finishedAt)}`];
  const rows = Object.entries(run.steps).map(([id, s]) => [
    id,
    s.function,
    s.status,
    s.executionId ?? '-',
    s.error ? `${s.error.code}: ${s.error.message}` : '',
  ]);
  lines.push(table(['STEP', 'FUNCTION', 'STATUS', 'EXECUTION', 'ERROR'], rows));
  if (run.status === 'succeeded') lines.push(`output: ${JSON.stringify(run.output)}`);
  return lines.join('\n');
}

async function readDefinition(file: string): Promise<WorkflowInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as WorkflowInput;
  } catch {
    throw new CliError('USAGE', `${file} is not JSON: a workflow file is { "steps": [...] }`, EXIT.usage);
  }
}

async function waitForRun(ctx: Ctx, id: string): Promise<WorkflowRunView> {
  for (;;) {
    const run = await ctx.client.getWorkflowRun(id, { signal: ctx.signal });
    if (run.status !== 'running') return run;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (ctx.signal.aborted) throw ctx.signal.reason;
  }
}

export function registerWorkflowCommands(program: Command): void {
  const wf = program.command('workflow').description('DAG workflows of functions: define, run, inspect, cancel');

  wf.command('put')
    .description('define or replace a workflow from a JSON file ({ "steps": [{ "id", "function", "needs"?, "input"? }] })')
    .argument('<name>', 'workflow name')
    .argument('<file>', 'the definition as JSON')
    .action(
      action(async (ctx, name: string, file: string) => {
        const { workflow, created } = await ctx.client.putWorkflow(name, await readDefinition(file), { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, workflow);
        ctx.out.stdout(`${created ? 'defined' : 'replaced'} ${workflow.name} version ${workflow.version} (${workflow.steps.length} steps)`);
      }),
    );

  wf.command('ls')
    .description('list workflows')
    .action(
      action(async (ctx) => {
        const { workflows } = await ctx.client.listWorkflows({ signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, { workflows });
        const rows = workflows.map((w) => [w.name, String(w.version), w.steps.map((s) => s.id).join(','), when(w.updatedAt)]);
        ctx.out.stdout(rows.length ? table(['NAME', 'VERSION', 'STEPS', 'UPDATED'], rows) : 'no workflows');
      }),
    );

  wf.command('get')
    .description('show a workflow definition')
    .argument('<name>', 'workflow name')
    .action(
      action(async (ctx, name: string) => {
        const w = await ctx.client.getWorkflow(name, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, w);
        const rows = w.steps.map((s) => [s.id, s.function, s.needs.join(',') || '-', s.input === undefined ? '$.input' : JSON.stringify(s.input)]);
        ctx.out.stdout(`${w.name} version ${w.version}\n${table(['STEP', 'FUNCTION', 'NEEDS', 'INPUT'], rows)}`);
      }),
    );

  wf.command('rm')
    .description('delete a workflow definition (its runs stay)')
    .argument('<name>', 'workflow name')
    .action(
      action(async (ctx, name: string) => {
        await ctx.client.deleteWorkflow(name, { signal: ctx.signal });
        // As `rm`: --json prints nothing, the API answers 204.
        if (!ctx.out.json) ctx.out.stdout(`deleted ${name}`);
      }),
    );

  wf.command('run')
    .description('start a run; --wait waits for its end and prints it')
    .argument('<name>', 'workflow name')
    .option('-d, --data <json>', "the run's input: JSON text, @file, or - for stdin (default: null)")
    .option('--wait', 'wait for the run to end (exit 0 succeeded, 4 failed, 6 cancelled)')
    .option('--idempotency-key <key>', 'the same key within 24 h returns the first run instead of a new one')
    .action(
      action(async (ctx, name: string, flags: { data?: string; wait?: boolean; idempotencyKey?: string }) => {
        const opts = { signal: ctx.signal, ...(flags.idempotencyKey !== undefined && { idempotencyKey: flags.idempotencyKey }) };
        const accepted = await ctx.client.startWorkflowRun(name, await readInput(flags.data), opts);
        if (!flags.wait) {
          if (ctx.out.json) return printJson(ctx.out, accepted);
          ctx.out.stdout(accepted.runId);
          ctx.out.stderr(`started; see it with: taskforge workflow status ${accepted.runId}`);
          return;
        }
        const run = await waitForRun(ctx, accepted.runId);
        if (ctx.out.json) printJson(ctx.out, run);
        else ctx.out.stdout(describeRun(run));
        return EXIT_FOR_RUN[run.status];
      }),
    );

  wf.command('status')
    .description('show a run: its status, each step, its output')
    .argument('<runId>', 'run id (wr_…)')
    .action(
      action(async (ctx, id: string) => {
        const run = await ctx.client.getWorkflowRun(id, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, run);
        ctx.out.stdout(describeRun(run));
      }),
    );

  wf.command('runs')
    .description('list runs, newest first')
    .option('--workflow <name>', 'only runs of this workflow')
    .option('--limit <n>', 'at most this many (1 … 500; default 50)', intFlag('--limit', 1, 500))
    .option('--cursor <cursor>', 'the next page, as the previous page said')
    .action(
      action(async (ctx, flags: { workflow?: string; limit?: number; cursor?: string }) => {
        const page = await ctx.client.listWorkflowRuns(
          {
            ...(flags.workflow !== undefined && { workflow: flags.workflow }),
            ...(flags.limit !== undefined && { limit: flags.limit }),
            ...(flags.cursor !== undefined && { cursor: flags.cursor }),
          },
          { signal: ctx.signal },
        );
        if (ctx.out.json) return printJson(ctx.out, page);
        const rows = page.runs.map((r) => [r.id, r.workflow, r.status, r.failedStep ?? '-', when(r.createdAt), when(r.finishedAt)]);
        ctx.out.stdout(rows.length ? table(['ID', 'WORKFLOW', 'STATUS', 'FAILED STEP', 'CREATED', 'FINISHED'], rows) : 'no runs');
        if (page.nextCursor) ctx.out.stderr(`more: taskforge workflow runs --cursor ${page.nextCursor}`);
      }),
    );

  wf.command('cancel')
    .description('cancel a running run and its queued or running step executions')
    .argument('<runId>', 'run id (wr_…)')
    .action(
      action(async (ctx, id: string) => {
        const run = await ctx.client.cancelWorkflowRun(id, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, run);
        ctx.out.stdout(`${run.id} ${run.status}`);
      }),
    );
}
