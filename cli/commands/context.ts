/**
 * What every API command's action gets: where to print, a client for the URL and key the global
 * flags chose, and a signal that Ctrl-C aborts. `action()` wraps a command's body so that its
 * result is the exit code and its failure is one line (main.ts prints it).
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { TaskForgeClient } from '../../client/index.js';
import { clientFor, resolveConnection, type Connection } from '../connection.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { processOut, type Out } from '../output.js';

export interface Ctx {
  out: Out;
  client: TaskForgeClient;
  conn: Connection;
  /** Aborted by the first SIGINT/SIGTERM: waits and streams end, the command exits. */
  signal: AbortSignal;
}

export interface GlobalFlags {
  url?: string;
  key?: string;
  json?: boolean;
}

/** The abort that Ctrl-C triggers; one per process. */
export const interrupt = new AbortController();

export type Body<A extends unknown[]> = (ctx: Ctx, ...args: A) => Promise<ExitCode | void>;

/** A commander action: runs `body` with the command's arguments and options, sets the exit code. */
export function action<A extends unknown[]>(body: Body<A>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    // commander passes the positional arguments, the options object, then the Command.
    const cmd = args[args.length - 1] as Command;
    const flags = cmd.optsWithGlobals<GlobalFlags>();
    const conn = resolveConnection(flags);
    const ctx: Ctx = { out: processOut(flags.json === true), client: clientFor(conn), conn, signal: interrupt.signal };
    const code = await body(ctx, ...(args.slice(0, -1) as A));
    // A body may end with `return print…()`: only a number is an exit code.
    process.exitCode = typeof code === 'number' ? code : EXIT.ok;
  };
}

/** Parses an integer flag value; commander calls it with the text. */
export const intFlag =
  (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max}`);
    }
    return n;
  };

/** Collects a repeatable flag's values. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
