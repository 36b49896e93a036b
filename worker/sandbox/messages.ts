/**
 * The IPC protocol between the sandbox pool (parent) and a runtime process (child), as
 * discriminated unions. Types only: the runtime imports this file with `import type`, because
 * under the permission model it can read nothing but its own script. Never add values here.
 *
 * Sequence: child sends `ready` once it listens; parent sends `load` once (→ `loaded` |
 * `load-error`); then any number of `invoke` (→ zero or more `log`, then one `result`), one at a time.
 */

/** How the function's code is evaluated; decided by common/code-check.ts in the parent. */
export type ModuleFormat = 'esm' | 'cjs';

/** Caps the runtime applies before sending, so a chatty function cannot flood the channel. */
export interface RuntimeLimits {
  outputBytes: number;
  logLines: number;
  logBytes: number;
  logLineChars: number;
  /** Bytes of WireError.detailsJson. */
  errorDetailsBytes: number;
}

/** One file of node's module compile cache, as `<subdirectory>/<file>` and base64 bytes. */
export interface CompileCacheEntry {
  path: string;
  data: string;
}

export interface LoadMessage {
  type: 'load';
  /** The function's module: a real file in the process's read-only code directory. */
  path: string;
  format: ModuleFormat;
  /**
   * Node's compile cache for this version: `read` an existing one (read-only), or `write` one in
   * the process's private /tmp and send it back with `loaded`. Null: none.
   */
  compileCache: { dir: string; mode: 'read' | 'write' } | null;
  handler: string;
  env: Record<string, string>;
  name: string;
  version: number;
  /** The function's memoryMb: context.memoryLimitInMB and AWS_LAMBDA_FUNCTION_MEMORY_SIZE. */
  memoryMb: number;
  limits: RuntimeLimits;
}

export interface InvokeMessage {
  type: 'invoke';
  executionId: string;
  inputJson: string;
  attempt: number;
  deadlineMs: number;
  functionName: string;
  version: number;
}

export type ParentMessage = LoadMessage | InvokeMessage;

/** A handler failure as the user should see it. */
export interface WireError {
  code: 'FUNCTION_ERROR';
  message: string;
  name: string;
  stack?: string;
  /** The thrown error's `code` and own enumerable fields (not name/message/stack) as a JSON object. */
  detailsJson?: string;
}

export interface WireLogLine {
  ts: string;
  stream: 'stdout' | 'stderr';
  message: string;
}

export interface ReadyMessage {
  type: 'ready';
  rssBytes: number;
}

export interface LoadedMessage {
  type: 'loaded';
  rssBytes: number;
  /** When the load was asked to write the compile cache: its files (absent if none was made). */
  compileCache?: CompileCacheEntry[];
}

export interface LoadErrorMessage {
  type: 'load-error';
  error: WireError;
}

export interface LogMessage {
  type: 'log';
  lines: WireLogLine[];
  /** True when the runtime dropped or shortened lines since the previous batch. */
  truncated: boolean;
  /** Lines dropped between the head and this batch (the window of the latest lines); absent = 0. */
  dropped?: number;
}

export type ResultMessage = {
  type: 'result';
  executionId: string;
  rssBytes: number;
  /** The process hit an uncaught exception: its state is unknown, it must not be reused. */
  fatal: boolean;
  /** CPU time (user + system) the invocation used, µs, as the runtime measured it (a report, not a limit). */
  cpuUs?: number;
} & ({ ok: true; outputJson: string } | { ok: false; error: WireError });

export type ChildMessage = ReadyMessage | LoadedMessage | LoadErrorMessage | LogMessage | ResultMessage;
