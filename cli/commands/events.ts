/**
 * `events`: every execution change, live, until Ctrl-C (GET /v1/events). A dropped connection
 * is resumed from the last event id by the client; when the server no longer holds the changes
 * missed meanwhile, a line on stderr says so and the stream goes on.
 */
import type { Command } from 'commander';
import { printJson, statusText, when } from '../output.js';
import { action } from './context.js';

export function registerEventsCommand(program: Command): void {
  program
    .command('events')
    .description('print execution changes as they happen, until Ctrl-C')
    .option('--function <fn>', "only this function's executions")
    .option('--execution <id>', 'only this execution')
    .action(
      action(async (ctx, flags: { function?: string; execution?: string }) => {
        const opts = { signal: ctx.signal, ...(flags.function && { function: flags.function }), ...(flags.execution && { execution: flags.execution }) };
        for await (const ev of ctx.client.events(opts)) {
          if (ev.type === 'reset') {
            ctx.out.stderr('events: some changes were missed while disconnected (the server no longer holds them)');
            continue;
          }
          const e = ev.execution;
          if (ctx.out.json) printJson(ctx.out, e);
          else ctx.out.stdout(`${when(new Date().toISOString())}  ${e.id}  ${e.function}@${e.version}  ${statusText(e)}`);
        }
      }),
    );
}
