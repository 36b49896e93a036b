/**
 * `taskforge <command>`: the API commands (program.ts, through the client), or one component in
 * this process (components.ts: scheduler, gateway, worker; dev runs the whole stack). Whatever
 * fails, the user gets one line and a documented exit code (exit-codes.ts), never a stack.
 */
import { interrupt } from './commands/context.js';
import { isComponent, runComponentCommand } from './components.js';
import { EXIT } from './exit-codes.js';
import { errorLine } from './output.js';
import { buildProgram, commanderOutcome, CommanderError } from './program.js';

async function runApiCommand(argv: string[]): Promise<void> {
  const program = buildProgram();
  // The first Ctrl-C ends a wait or a stream (the command then exits); a second one exits now.
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    interrupt.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      const { exitCode, line } = commanderOutcome(err);
      if (line) process.stderr.write(`${line}\n`);
      process.exitCode = exitCode;
      return;
    }
    if (interrupt.signal.aborted) {
      process.exitCode = EXIT.interrupted;
      return;
    }
    const { line, exitCode } = errorLine(err);
    process.stderr.write(`${line}\n`);
    process.exitCode = exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (isComponent(argv[0])) return runComponentCommand(argv[0], argv.slice(1));
  if (argv.length === 0) {
    buildProgram().outputHelp({ error: true });
    process.exitCode = EXIT.usage;
    return;
  }
  return runApiCommand(argv);
}

main().catch((err: unknown) => {
  process.stderr.write(`${errorLine(err).line}\n`);
  process.exit(EXIT.error);
});
