/**
 * Execution commands: `get <id>`, `logs <id> [-f]`, `ls executions`, `cancel <id>`, `retry <id>`,
 * `dlq [--function f]`.
 * `logs -f` follows the log stream (text/event-stream) to the end of the execution; with
 * --json it prints each line's JSON, then the final Execution's, one document a line.
 */
import type { Command } from 'commander';
import type { ExecutionStatus, LogLine } from '../../client/index.js';
import { EXECUTION_STATUSES } from '../../common/records.js';
import { describeExecution, ms, printJson, statusText, table, when } from '../output.js';
import { action, intFlag, type Ctx } from './context.js';

const logLine = (l: LogLine): string => `${when(l.ts)}  ${l.stream.padEnd(6)} ${l.attempt && l.attempt > 1 ? `[attempt ${l.attempt}] ` : ''}${l.message}`;

export function registerExecutionCommands(program: Command): void {
  program
    .command('get')
    .description('show an execution: status, timings, output or error')
    .argument('<id>', 'execution id (ex_…)')
    .action(
      action(async (ctx, id: string) => {
        const e = await ctx.client.getExecution(id, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, e);
        ctx.out.stdout(describeExecution(e));
      }),
    );

  program
    .command('logs')
    .description("print an execution's logs; -f follows them until it ends")
    .argument('<id>', 'execution id (ex_…)')
    .option('-f, --follow', 'stream new lines as they are written, until the execution ends')
    .action(
      action(async (ctx, id: string, flags: { follow?: boolean }) => {
        if (!flags.follow) {
          const logs = await ctx.client.getLogs(id, { signal: ctx.signal });
          if (ctx.out.json) return printJson(ctx.out, logs);
          for (const l of logs.lines) ctx.out.stdout(logLine(l));
          if (logs.truncated) ctx.out.stderr(`(truncated: ${logs.dropped ?? 'some'} lines between the first and the last were not kept)`);
          return;
        }
        for await (const ev of ctx.client.followLogs(id, { signal: ctx.signal })) {
          if (ev.type === 'log') {
            if (ctx.out.json) printJson(ctx.out, ev.line);
            else ctx.out.stdout(logLine(ev.line));
          } else if (ctx.out.json) {
            printJson(ctx.out, ev.execution);
          } else {
            ctx.out.stderr(`${ev.execution.id} ${statusText(ev.execution)}`);
          }
        }
      }),
    );

  program
    .command('cancel')
    .description('cancel a queued or running execution (a running one has its sandbox killed)')
    .argument('<id>', 'execution id (ex_…)')
    .action(
      action(async (ctx, id: string) => {
        const e = await ctx.client.cancelExecution(id, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, e);
        ctx.out.stdout(`${e.id} ${e.status}`);
      }),
    );
  program
    .command('retry')
    .description('run a finished execution again: the same function version and input, as a new async execution')
    .argument('<id>', 'execution id (ex_…)')
    .action(
      action(async (ctx, id: string) => {
        const r = await ctx.client.retryExecution(id, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, r);
        ctx.out.stdout(`${r.executionId} ${r.status} (retry of ${id})`);
      }),
    );
  program
    .command('dlq')
    .description('dead letters: async executions that failed or timed out for good and were not retried, newest first')
    .option('--function <name>', 'only this function')
    .option('--limit <n>', 'at most this many (1-500)', limitFlag)
    .option('--cursor <cursor>', 'the page after the one that printed it')
    .action(
      action(async (ctx, flags: { function?: string; limit?: number; cursor?: string }) => {
        const page = await ctx.client.deadLetters(
          {
            ...(flags.function !== undefined && { function: flags.function }),
            ...(flags.limit !== undefined && { limit: flags.limit }),
            ...(flags.cursor !== undefined && { cursor: flags.cursor }),
          },
          { signal: ctx.signal },
        );
        if (ctx.out.json) return printJson(ctx.out, page);
        const rows = page.deadLetters.map((e) => [e.id, `${e.function}@${e.version}`, statusText(e), e.error?.code ?? '', when(e.finishedAt ?? e.createdAt)]);
        ctx.out.stdout(rows.length ? table(['ID', 'FUNCTION', 'STATUS', 'ERROR', 'FINISHED'], rows) : 'no dead letters');
        if (page.nextCursor) ctx.out.stderr(`more: taskforge dlq --cursor ${page.nextCursor}`);
      }),
    );
}

export interface ListExecutionFlags {
  function?: string;
  status?: ExecutionStatus;
  limit?: number;
  cursor?: string;
}

export const STATUS_CHOICES = EXECUTION_STATUSES;
export const limitFlag = intFlag('--limit', 1, 500);

/** `ls executions`: newest first, one page; the next page's cursor goes to stderr. */
export async function listExecutions(ctx: Ctx, flags: ListExecutionFlags): Promise<void> {
  const page = await ctx.client.listExecutions(
    {
      ...(flags.function !== undefined && { function: flags.function }),
      ...(flags.status !== undefined && { status: flags.status }),
      ...(flags.limit !== undefined && { limit: flags.limit }),
      ...(flags.cursor !== undefined && { cursor: flags.cursor }),
    },
    { signal: ctx.signal },
  );
  if (ctx.out.json) return printJson(ctx.out, page);
  const rows = page.executions.map((e) => [e.id, `${e.function}@${e.version}`, statusText(e), e.mode, ms(e.durationMs), when(e.createdAt)]);
  ctx.out.stdout(rows.length ? table(['ID', 'FUNCTION', 'STATUS', 'MODE', 'DURATION', 'CREATED'], rows) : 'no executions');
  if (page.nextCursor) ctx.out.stderr(`more: taskforge ls executions --cursor ${page.nextCursor}`);
}
