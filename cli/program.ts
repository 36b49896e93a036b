/**
 * The command tree of `taskforge` for the API (commander): deploy, invoke, publish, triggers, get, logs, ls,
 * cancel, rm, workers, stats, keys, events. The component commands (dev, scheduler, gateway,
 * worker, pool) are listed in the help but run by components.ts with config.ts's flags.
 *
 * The connection flags --url, --key and --json are every API command's own (before the command
 * name they work too); program options stop at the command name, so `invoke --version 2` is
 * the invoke's and `taskforge --version` the program's.
 * Usage mistakes are one line and exit 2; `--help` on any command prints its help and exits 0.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { registerClusterCommands } from './commands/cluster.js';
import { registerEventsCommand } from './commands/events.js';
import { limitFlag, listExecutions, registerExecutionCommands, STATUS_CHOICES, type ListExecutionFlags } from './commands/executions.js';
import { listFunctions, registerFunctionCommands } from './commands/functions.js';
import { registerInvokeCommand } from './commands/invoke.js';
import { registerTriggerCommands } from './commands/triggers.js';
import { registerWorkflowCommands } from './commands/workflow.js';
import { action } from './commands/context.js';
import { COMPONENT_HELP } from './config.js';
import { EXIT } from './exit-codes.js';

/** The package's version: dist/cli/ and cli/ both sit two or one levels below package.json. */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'taskforge' && pkg.version) return pkg.version;
    } catch {
      // try the next
    }
  }
  return 'unknown';
}

const EXIT_HELP = `
Exit codes: 0 done (invoke: the execution succeeded) · 1 the API refused (the line names its code) ·
2 usage · 3 API unreachable · 4 invoke: failed · 5 invoke: timed out · 6 invoke: cancelled · 130 interrupted.

Environment: TASKFORGE_URL (default http://127.0.0.1:8080), TASKFORGE_API_KEY (default: ./data/admin.key).`;

export function buildProgram(): Command {
  const program = new Command('taskforge')
    .description('TaskForge: run JavaScript functions on your own machines')
    .version(packageVersion(), '-V, --version', 'print the version')
    // Program options only before the command: `invoke --version N` is the invoke's own flag.
    .enablePositionalOptions()
    .addHelpText('after', EXIT_HELP)
    .showSuggestionAfterError(true);
  withConnectionFlags(program);

  registerFunctionCommands(program);
  registerInvokeCommand(program);
  registerTriggerCommands(program);
  registerExecutionCommands(program);

  program
    .command('ls')
    .description('list functions or executions')
    .addArgument(new Command().createArgument('<what>', 'functions | executions').choices(['functions', 'executions']))
    .option('--function <fn>', "executions: only this function's")
    .addOption(new Option('--status <status>', 'executions: only those in this status').choices(STATUS_CHOICES))
    .option('--limit <n>', 'executions: at most this many (1 … 500; default 50)', limitFlag)
    .option('--cursor <cursor>', 'executions: the next page, as the previous one said')
    .action(
      action(async (ctx, what: string, flags: ListExecutionFlags) => {
        if (what === 'functions') return listFunctions(ctx);
        return listExecutions(ctx, flags);
      }),
    );

  registerClusterCommands(program);
  registerEventsCommand(program);
  registerWorkflowCommands(program);

  // Listed for --help; components.ts runs them (main.ts routes them there before commander).
  for (const [name, help] of Object.entries(COMPONENT_HELP)) program.command(name).description(`${help} (flags: taskforge ${name} --help)`);

  // Every command: usage errors as one line and exit 2, help and version exit 0, nothing exits
  // the process here. Every API command takes the connection flags itself, after its name.
  const configure = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({ outputError: () => undefined });
    for (const sub of cmd.commands) {
      if (!(sub.name() in COMPONENT_HELP)) withConnectionFlags(sub);
      configure(sub);
    }
  };
  configure(program);
  return program;
}

function withConnectionFlags(cmd: Command): void {
  cmd
    .option('--url <url>', 'gateway URL (env TASKFORGE_URL; default http://127.0.0.1:8080)')
    .option('--key <key>', 'API key (env TASKFORGE_API_KEY; default: the key in ./data/admin.key)')
    .option('--json', "print the API's JSON exactly, one document a line");
}

/** The outcome of a CommanderError: 0 for help and version, else a usage error with its one line. */
export function commanderOutcome(err: CommanderError): { exitCode: number; line: string | null } {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return { exitCode: EXIT.ok, line: null };
  // commander.help: a command group (`taskforge keys`) without its subcommand; the help went to stderr.
  if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') return { exitCode: EXIT.usage, line: null };
  return { exitCode: EXIT.usage, line: `error USAGE: ${err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}` };
}

export { CommanderError };
