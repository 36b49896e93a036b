/**
 * What the CLI prints. `--json` prints the API's JSON exactly as it came, one document per line;
 * otherwise tables and short lines for a person. Errors are one line on stderr,
 * `error CODE: message`, never a stack: the code is the API's when the API answered.
 */
import type { ExecutionRecord, ExecutionSummary } from '../client/index.js';
import { TaskForgeApiError } from '../client/index.js';
import { EXIT, type ExitCode } from './exit-codes.js';

/** A failure of the command itself (a bad flag value, an unreadable file), with its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError('USAGE', message, EXIT.usage);

export interface Out {
  json: boolean;
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processOut = (json: boolean): Out => ({
  json,
  stdout: (t) => {
    process.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
  },
  stderr: (t) => {
    process.stderr.write(t.endsWith('\n') ? t : `${t}\n`);
  },
});

/** One JSON document on one line: what `--json` prints. */
export function printJson(out: Out, value: unknown): void {
  out.stdout(JSON.stringify(value));
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `2026-12-04 19:23:15` from an ISO time; `-` for none. */
export const when = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-');

export const ms = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : n < 10_000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);

/** `failed FUNCTION_ERROR: TypeError: boom` or `succeeded`. */
export function statusText(e: ExecutionSummary): string {
  if (!e.error) return e.status;
  const name = e.error.name && !e.error.message.startsWith(e.error.name) ? `${e.error.name}: ` : '';
  return `${e.status} ${e.error.code}: ${name}${e.error.message}`.split('\n')[0]!;
}

/** The record of an execution for a person: one field a line. */
export function describeExecution(e: ExecutionRecord): string {
  const rows: [string, string][] = [
    ['id', e.id],
    ['function', `${e.function}@${e.version}`],
    ['status', statusText(e)],
    ['mode', e.mode],
    ['attempt', `${e.attempt} of ${e.maxAttempts}`],
    ['worker', e.workerId ?? '-'],
    ['created', when(e.createdAt)],
    ['started', when(e.startedAt)],
    ['finished', when(e.finishedAt)],
    ['duration', `${ms(e.durationMs)}${e.coldStart ? ' (cold start)' : ''}`],
  ];
  if (e.timings) rows.push(['timings', `queued ${ms(e.timings.queuedMs)}, init ${ms(e.timings.initMs)}, run ${ms(e.timings.runMs)}`]);
  if (e.idempotencyKey) rows.push(['idempotency', e.idempotencyKey]);
  // A delayed invoke and a priority other than the default: shown only when there is one.
  if (e.scheduledFor) rows.splice(7, 0, ['scheduled', when(e.scheduledFor)]);
  if (e.priority && e.priority !== 'normal') rows.push(['priority', e.priority]);
  if ('input' in e) rows.push(['input', JSON.stringify(e.input)]);
  if ('output' in e && e.status === 'succeeded') rows.push(['output', JSON.stringify(e.output)]);
  return rows.map(([k, v]) => `${k.padEnd(12)}${v}`).join('\n');
}

/** The one line an error prints, and the code the process exits with. */
export function errorLine(err: unknown): { line: string; exitCode: ExitCode } {
  if (err instanceof TaskForgeApiError) {
    const exitCode = err.code === 'NETWORK_ERROR' ? EXIT.unreachable : EXIT.error;
    return { line: `error ${err.code}: ${oneLine(err.message)}`, exitCode };
  }
  if (err instanceof CliError) return { line: `error ${err.code}: ${oneLine(err.message)}`, exitCode: err.exitCode };
  return { line: `error INTERNAL: ${oneLine(err instanceof Error ? err.message : String(err))}`, exitCode: EXIT.error };
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();
