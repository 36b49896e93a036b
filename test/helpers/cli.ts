/**
 * The built `taskforge` command as a user runs it (node dist/cli/main.js …), for CLI tests:
 * its exit code, stdout and stderr. Runs in a temp working directory unless told otherwise, so
 * no ./data/admin.key of the checkout is picked up by accident.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './processes.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to its stdin, then closed. */
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

const EMPTY_DIR = mkdtempSync(join(tmpdir(), 'taskforge-cli-cwd-'));

/** The environment without the caller's TASKFORGE_* settings: a test says what it means. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TASKFORGE_')) env[k] = v;
  return { ...env, ...extra };
}

export function startCli(args: string[], opts: CliRunOptions = {}) {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? EMPTY_DIR, env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const done = new Promise<CliResult>((resolve) =>
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { proc, done, stdout: () => stdout, stderr: () => stderr };
}

export const runCli = (args: string[], opts: CliRunOptions = {}): Promise<CliResult> => startCli(args, opts).done;
