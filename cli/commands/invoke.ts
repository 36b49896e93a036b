/**
 * `invoke <fn>`: runs a function and waits for its end (sync), or only queues it (`--async`),
 * or queues it and waits (`--async --wait`). Waiting goes on past the API's own wait: a sync
 * invoke still running after its waitMs, or a queued one, is long-polled until it is terminal.
 * `--delay` / `--at` delay it (delayed means async: it is queued, add --wait to wait for it),
 * `--priority` orders the queue, and `--batch` sends a JSON array of events as one batch
 * invoke (docs/QUEUEING.md), printing one execution id per line.
 *
 * The exit code says how the execution ended (exit-codes.ts): 0 only when it succeeded. The
 * output is on stdout (or the API's JSON with --json); what happened is on stderr.
 */
import { readFile } from 'node:fs/promises';
import { text as readAll } from 'node:stream/consumers';
import { InvalidArgumentError, type Command } from 'commander';
import type { ExecutionRecord } from '../../client/index.js';
import { LIMITS, PRIORITIES, isTerminal, type Priority } from '../../common/records.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { CliError, ms, printJson, statusText } from '../output.js';
import { startSpinner } from '../spinner.js';
import { action, intFlag, type Ctx } from './context.js';

interface InvokeFlags {
  data?: string;
  async?: boolean;
  version?: number;
  wait?: boolean;
  idempotencyKey?: string;
  delay?: number;
  at?: string;
  priority?: Priority;
  batch?: boolean;
}

const priorityFlag = (text: string): Priority => {
  if (!(PRIORITIES as readonly string[]).includes(text)) throw new InvalidArgumentError(`--priority must be one of ${PRIORITIES.join(', ')}`);
  return text as Priority;
};

/** `--batch`: the events are a JSON array (or `{ "events": [...] }`). */
function batchEvents(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (input && typeof input === 'object' && Array.isArray((input as { events?: unknown }).events)) return (input as { events: unknown[] }).events;
  throw new CliError('INVALID_BATCH', '--batch: --data must be a JSON array of events (or { "events": [...] })', EXIT.usage);
}

const LONG_POLL_MS = 30_000;

export const EXIT_FOR_STATUS: Readonly<Record<string, ExitCode>> = Object.freeze({
  succeeded: EXIT.ok,
  failed: EXIT.failed,
  timed_out: EXIT.timedOut,
  cancelled: EXIT.cancelled,
});

/** `--data`: JSON text, `@file` with JSON in it, or `-` for JSON on stdin. Absent: null. */
export async function readInput(data: string | undefined, stdin: NodeJS.ReadableStream = process.stdin): Promise<unknown> {
  if (data === undefined) return null;
  let text = data;
  let from = '--data';
  if (data === '-') {
    text = await readAll(stdin);
    from = 'stdin';
  } else if (data.startsWith('@')) {
    from = data.slice(1);
    try {
      text = await readFile(from, 'utf8');
    } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read ${from}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError('INVALID_JSON', `${from} is not JSON: ${(err as Error).message}`, EXIT.usage);
  }
}

/** Long-polls until the execution is terminal (or Ctrl-C). */
export async function waitForEnd(ctx: Ctx, id: string, current: ExecutionRecord | null): Promise<ExecutionRecord> {
  let e = current;
  while (!e || !isTerminal(e.status)) e = await ctx.client.getExecution(id, { waitMs: LONG_POLL_MS, signal: ctx.signal });
  return e;
}

export function registerInvokeCommand(program: Command): void {
  program
    .command('invoke')
    .description('run a function: wait for its result (default), or only queue it with --async')
    .argument('<fn>', 'function name')
    .option('-d, --data <json>', 'the event: JSON text, @file, or - for stdin (default: null)')
    .option('--async', 'queue it and print the execution id (add --wait to wait for the end)')
    .option('--wait', 'with --async: wait for the end, as a sync invoke does')
    .option('--version <n>', 'run this version instead of the latest', intFlag('--version', 1))
    .option('--idempotency-key <key>', 'the same key within 24 h returns the first execution instead of a new one')
    .option('--delay <ms>', 'run it this many ms from now (async; ≤ 31 days)', intFlag('--delay', 0, LIMITS.maxDelayMs))
    .option('--at <time>', 'run it at this ISO 8601 time, e.g. 2030-01-01T09:00:00Z (async; ≤ 31 days ahead)')
    .option('--priority <p>', `queue priority: ${PRIORITIES.join(' | ')} (default normal)`, priorityFlag)
    .option('--batch', '--data is a JSON array of events: one batch invoke (≤ 1,000), one execution each; prints their ids')
    .addHelpText('after', '\nExit code: 0 succeeded, 4 failed, 5 timed out, 6 cancelled (1 the API refused, 3 unreachable, 130 interrupted).')
    .action(
      action(async (ctx, name: string, flags: InvokeFlags) => {
        const input = await readInput(flags.data);
        const common = {
          ...(flags.version !== undefined && { version: flags.version }),
          ...(flags.idempotencyKey !== undefined && { idempotencyKey: flags.idempotencyKey }),
          ...(flags.delay !== undefined && { delayMs: flags.delay }),
          ...(flags.at !== undefined && { at: flags.at }),
          ...(flags.priority !== undefined && { priority: flags.priority }),
          signal: ctx.signal,
        };
        if (flags.delay !== undefined && flags.at !== undefined) throw new CliError('USAGE', 'give --delay or --at, not both', EXIT.usage);
        if (flags.batch) {
          const accepted = await ctx.client.invokeBatch(name, batchEvents(input), common);
          if (ctx.out.json) return printJson(ctx.out, accepted);
          for (const e of accepted.executions) ctx.out.stdout(e.executionId);
          ctx.out.stderr(`${accepted.executions.length} queued`);
          return;
        }
        // A delayed invoke is async: it is queued, and waited for only with --wait.
        if (flags.delay !== undefined || flags.at !== undefined) flags.async = true;
        if (flags.async && !flags.wait) {
          const accepted = await ctx.client.invoke(name, input, { ...common, mode: 'async' });
          if (ctx.out.json) return printJson(ctx.out, accepted);
          ctx.out.stdout(accepted.executionId);
          ctx.out.stderr(`queued; see it with: taskforge get ${accepted.executionId}`);
          return;
        }
        const spinner = startSpinner(`running ${name}`);
        let final: ExecutionRecord;
        try {
          let first: ExecutionRecord | null = null;
          let id: string;
          if (flags.async) {
            id = (await ctx.client.invoke(name, input, { ...common, mode: 'async' })).executionId;
          } else {
            first = await ctx.client.invoke(name, input, { ...common, mode: 'sync' });
            id = first.id;
          }
          spinner.update(`waiting for ${id}`);
          final = await waitForEnd(ctx, id, first);
        } finally {
          spinner.stop();
        }
        if (ctx.out.json) printJson(ctx.out, final);
        else report(ctx, final);
        return EXIT_FOR_STATUS[final.status] ?? EXIT.error;
      }),
    );
}

function report(ctx: Ctx, e: ExecutionRecord): void {
  const how = `${e.id} ${e.function}@${e.version}`;
  if (e.status === 'succeeded') {
    ctx.out.stdout(JSON.stringify(e.output, null, 2) ?? 'null');
    ctx.out.stderr(`${how} succeeded in ${ms(e.durationMs)}${e.coldStart ? ' (cold start)' : ''}`);
  } else {
    ctx.out.stderr(`${how} ${statusText(e)}`);
  }
}
