/**
 * `publish <topic>`: publishes an event (JSON, or a CloudEvent with --cloudevent) and prints the
 * executions it started. `triggers [fn]`: every function's topic subscriptions and cron
 * schedules, with when each schedule fires next (docs/TOPICS.md, docs/CRON.md).
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { FunctionInfo, FunctionSpecInput, TriggerInfo } from '../../client/index.js';
import { printJson, table, when } from '../output.js';
import { action, type Ctx } from './context.js';
import { readInput } from './invoke.js';

interface PublishFlags {
  data?: string;
  cloudevent?: boolean;
}

/** deploy's `--topic`, `--cron` and `--trigger` as the spec's `triggers` (absent when none is given). */
export function triggerFlags(flags: { topic?: string[]; cron?: string[]; trigger?: string[] }): Pick<FunctionSpecInput, 'triggers'> {
  const triggers: NonNullable<FunctionSpecInput['triggers']> = [
    ...(flags.topic ?? []).map((topic) => ({ type: 'topic' as const, topic })),
    ...(flags.cron ?? []).map((schedule) => ({ type: 'cron' as const, schedule })),
    ...(flags.trigger ?? []).map((text) => {
      try {
        return JSON.parse(text) as NonNullable<FunctionSpecInput['triggers']>[number];
      } catch {
        throw new InvalidArgumentError(`--trigger takes a trigger as JSON, got '${text.slice(0, 60)}'`);
      }
    }),
  ];
  return triggers.length > 0 ? { triggers } : {};
}

const describeTrigger = (t: TriggerInfo): [string, string, string, string] =>
  t.type === 'topic' ? ['topic', t.topic, t.filter ? JSON.stringify(t.filter) : '-', '-'] : ['cron', t.schedule, t.timezone ?? 'UTC', when(t.nextAt ?? null)];

export async function listTriggers(ctx: Ctx, name?: string): Promise<void> {
  const fns: FunctionInfo[] = name
    ? [await ctx.client.getFunction(name, { signal: ctx.signal })]
    : (await ctx.client.listFunctions({ signal: ctx.signal })).functions;
  const withTriggers = fns.filter((f) => (f.triggers ?? []).length > 0);
  if (ctx.out.json) return printJson(ctx.out, { triggers: withTriggers.flatMap((f) => (f.triggers ?? []).map((t) => ({ function: f.name, ...t }))) });
  const rows = withTriggers.flatMap((f) => (f.triggers ?? []).map((t) => [f.name, ...describeTrigger(t)]));
  ctx.out.stdout(rows.length ? table(['FUNCTION', 'TYPE', 'TOPIC / SCHEDULE', 'FILTER / TIMEZONE', 'NEXT'], rows) : 'no triggers');
}

export function registerTriggerCommands(program: Command): void {
  program
    .command('publish')
    .description('publish an event to a topic: one execution per subscribed function')
    .argument('<topic>', 'topic name, e.g. orders.created')
    .option('-d, --data <json>', 'the event: JSON text, @file, or - for stdin (default: null)')
    .option('--cloudevent', 'the event is a structured-mode CloudEvent (sent as application/cloudevents+json)')
    .action(
      action(async (ctx, topic: string, flags: PublishFlags) => {
        const event = await readInput(flags.data);
        const r = await ctx.client.publish(topic, event, { cloudEvent: flags.cloudevent === true, signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, r);
        ctx.out.stderr(`event ${r.eventId}: ${r.executions.length} execution${r.executions.length === 1 ? '' : 's'}`);
        if (r.executions.length > 0)
          ctx.out.stdout(
            table(
              ['FUNCTION', 'EXECUTION'],
              r.executions.map((e) => [e.function, e.executionId]),
            ),
          );
      }),
    );

  program
    .command('triggers')
    .description('list topic subscriptions and cron schedules (with their next run), of every function or of one')
    .argument('[fn]', 'only this function')
    .action(action(async (ctx, name: string | undefined) => listTriggers(ctx, name)));
}
