/**
 * Function commands: `deploy <file>`, `ls functions`, `rm <fn>`.
 *
 * `deploy` is a PUT of the whole spec: a setting not given takes the API's default again, as a
 * version is immutable and complete (docs/API.md). `--version-note` is the spec's `description`,
 * the only free text a FunctionSpec has; it is kept with the version it was deployed with.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { FunctionSpecInput } from '../../client/index.js';
import { CliError, printJson, table, when } from '../output.js';
import { action, collect, intFlag } from './context.js';
import { triggerFlags } from './triggers.js';

interface DeployFlags {
  name?: string;
  handler?: string;
  timeout?: number;
  memory?: number;
  retries?: number;
  concurrency?: number;
  env?: string[];
  versionNote?: string;
  topic?: string[];
  cron?: string[];
  trigger?: string[];
}

/** `hello.mjs` → `hello`: the name a deploy takes when none is given. */
export const nameFromFile = (file: string): string => basename(file, extname(file));

export function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`--env takes KEY=VALUE, got '${pair}'`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

export function registerFunctionCommands(program: Command): void {
  program
    .command('deploy')
    .description('create or update a function from a module file (a new version when anything changed)')
    .argument('<file>', 'the ES module (or CommonJS) source')
    .option('--name <name>', "function name (default: the file's base name)")
    .option('--handler <export>', 'exported handler (default: default)')
    .option('--timeout <ms>', 'run time limit in ms (100 … 900000; default 30000)', intFlag('--timeout', 100, 900_000))
    .option('--memory <mb>', 'memory limit in MB (16 … 4096; default 128)', intFlag('--memory', 16, 4096))
    .option('--retries <n>', 'retries of a failed async execution (0 … 10; default 2)', intFlag('--retries', 0, 10))
    .option('--concurrency <n>', 'cluster-wide limit of concurrent executions (0 = none)', intFlag('--concurrency', 0, 10_000))
    .option('--env <KEY=VALUE>', 'an environment variable of the function (repeatable)', collect)
    .option('--version-note <text>', "a note about this version, kept as the function's description")
    .option('--topic <topic>', 'subscribe to a topic (repeatable)', collect)
    .option('--cron <schedule>', 'run on a schedule: 5 fields, or 6 with seconds first, in UTC (repeatable)', collect)
    .option('--trigger <json>', 'a trigger as JSON, e.g. a filter, a timezone or an input (repeatable)', collect)
    .action(
      action(async (ctx, file: string, flags: DeployFlags) => {
        let code: string;
        try {
          code = await readFile(file, 'utf8');
        } catch (err) {
          throw new CliError('FILE_UNREADABLE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        const spec: FunctionSpecInput = {
          code,
          ...(flags.handler !== undefined && { handler: flags.handler }),
          ...(flags.timeout !== undefined && { timeoutMs: flags.timeout }),
          ...(flags.memory !== undefined && { memoryMb: flags.memory }),
          ...(flags.retries !== undefined && { maxRetries: flags.retries }),
          ...(flags.concurrency !== undefined && { concurrency: flags.concurrency }),
          ...(flags.env && { env: parseEnv(flags.env) }),
          ...(flags.versionNote !== undefined && { description: flags.versionNote }),
          ...triggerFlags(flags),
        };
        const name = flags.name ?? nameFromFile(file);
        const { function: info, created } = await ctx.client.putFunction(name, spec, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, info);
        ctx.out.stdout(
          created ? `deployed ${info.name} version ${info.version}` : `${info.name} is unchanged: version ${info.version} has this code and settings`,
        );
      }),
    );

  program
    .command('rm')
    .description('delete a function (running executions finish; later invokes get 404)')
    .argument('<fn>', 'function name')
    .action(
      action(async (ctx, name: string) => {
        await ctx.client.deleteFunction(name, { signal: ctx.signal });
        // 204: the API's answer has no JSON; --json prints nothing.
        if (!ctx.out.json) ctx.out.stdout(`deleted ${name}`);
      }),
    );
}

/** `ls functions`. */
export async function listFunctions(ctx: import('./context.js').Ctx): Promise<void> {
  const list = await ctx.client.listFunctions({ signal: ctx.signal });
  if (ctx.out.json) return printJson(ctx.out, list);
  const rows = list.functions.map((f) => [f.name, String(f.version), `${f.timeoutMs} ms`, `${f.memoryMb} MB`, when(f.updatedAt), f.description]);
  ctx.out.stdout(list.functions.length ? table(['NAME', 'VERSION', 'TIMEOUT', 'MEMORY', 'UPDATED', 'DESCRIPTION'], rows) : 'no functions');
}
