/**
 * Entry script of a runtime child process: loads one function version and runs its handler,
 * one invocation at a time, talking to the pool over IPC (see messages.ts).
 *
 * It runs under Node's permission model with read access to its own directory and its code
 * directory only, so at run time it imports only `node:` builtins, frames.ts and runtime-load.ts
 * (which import nothing else). It reads requests on
 * stdin and writes replies on fd 3, in length-prefixed frames, never Node's IPC channel. It must never write to the real
 * stdout/stderr on the function's behalf: console output travels as `log` messages. It is not a
 * security boundary by itself; the process, its flags and its namespaces are.
 */
import { writeSync } from 'node:fs';
import { inspect } from 'node:util';
import type { ChildMessage, InvokeMessage, LoadMessage, ParentMessage, RuntimeLimits, WireError, WireLogLine } from './messages.js';
import { encodeFrame, FrameDecoder, FrameError } from './frames.js';
import { collectCompileCache, loadHandler, startCompileCache } from './runtime-load.js';

type Callback = (err?: unknown, value?: unknown) => void;
type Handler = (event: unknown, context: InvocationContext, callback?: Callback) => unknown;

interface InvocationContext {
  readonly executionId: string;
  readonly functionName: string;
  readonly version: number;
  readonly attempt: number;
  readonly deadline: number;
  remainingTimeMs(): number;
  // AWS Lambda's names, for ported code.
  readonly awsRequestId: string;
  readonly functionVersion: string;
  readonly memoryLimitInMB: string;
  getRemainingTimeInMillis(): number;
  /**
   * Accepted for ported code, default true. Either way the result goes back as soon as the
   * handler's promise settles or its callback is called; work still pending goes on in the warm
   * process (what Lambda does with false): this runtime never waits for an empty event loop.
   */
  callbackWaitsForEmptyEventLoop: boolean;
}

type Outcome = { ok: true; outputJson: string } | { ok: false; error: WireError };

/** Lines sent in one message before flushing without waiting for the next tick. */
const BATCH_LINES = 100;
/** A stack longer than this is cut: it travels to the user and into the execution record. */
const STACK_CHARS = 16 * 1024;

/** The runtime's own files (this one and runtime-load.js): their frames are not the user's. */
const RUNTIME_DIR_URL = new URL('.', import.meta.url).href;

/** The descriptor replies go out on (requests come in on stdin). */
const CHANNEL_FD = 3;
/** A load carries up to 5 MiB of code, JSON-escaped; nothing the pool sends is larger. */
const MAX_PARENT_FRAME_BYTES = 64 * 1024 * 1024;

function send(msg: ChildMessage): void {
  const frame = encodeFrame(msg);
  let off = 0;
  // The child's end of the socket pair is blocking: a slow reader only slows this process.
  while (off < frame.length) off += writeSync(CHANNEL_FD, frame, off);
}

// ---- log capture -------------------------------------------------------------------------------

const realStderrWrite = process.stderr.write.bind(process.stderr);
let limits: RuntimeLimits | null = null;
let batch: WireLogLine[] = [];
let batchTruncated = false;
let flushScheduled = false;
// Per load and per invocation, the first half of the log budget is sent as it is written; after
// that the latest lines are kept in a window (the other half) and sent when the run ends, with
// the count of lines that fell out between them, so the final error is never the one dropped.
// It is common/log-window.ts's rule, written out here: this file may import nothing outside its
// directory (the permission model), and the pool applies the same cap again with that class.
let linesSent = 0;
let bytesSent = 0;
let tail: WireLogLine[] = [];
let tailBytes = 0;
let dropped = 0;

function resetLogBudget(): void {
  linesSent = 0;
  bytesSent = 0;
  tail = [];
  tailBytes = 0;
  dropped = 0;
}

/**
 * Output and unhandled rejections between invocations (a timer or promise left running after the
 * handler returned) belong to no execution: they are kept here, up to LATE_LINES, and reported at
 * the start of the next execution of this process, as stderr lines naming the execution after
 * which they happened. A process that is never used again takes them with it.
 */
const LATE_LINES = 50;
let late: { stream: 'stdout' | 'stderr'; text: string }[] = [];
let lateDropped = 0;
/** The execution (or load) that last ran here: what late output is reported "after". */
let lastRun = 'load';

function noteLate(stream: 'stdout' | 'stderr', text: string): void {
  if (late.length < LATE_LINES) late.push({ stream, text });
  else lateDropped += 1;
}

function reportLate(): void {
  const lines = late;
  const dropped = lateDropped;
  late = [];
  lateDropped = 0;
  for (const line of lines) capture(line.stream, `[after ${lastRun}] ${line.text}`);
  if (dropped > 0) capture('stderr', `[after ${lastRun}] ${dropped} more lines dropped`);
}

function capture(stream: 'stdout' | 'stderr', chunk: unknown): void {
  // Nothing of the function runs before `load`, so there is nothing to keep until limits arrive.
  if (!limits) return;
  let text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk);
  // console.* writes one chunk per call ending in a newline: one call is one line.
  if (text.endsWith('\n')) text = text.slice(0, -1);
  if (current === null && !loading) {
    noteLate(stream, text.slice(0, limits.logLineChars));
    return;
  }
  if (text.length > limits.logLineChars) {
    text = text.slice(0, limits.logLineChars);
    batchTruncated = true;
  }
  const size = Buffer.byteLength(text);
  const line: WireLogLine = { ts: new Date().toISOString(), stream, message: text };
  const headLines = Math.ceil(limits.logLines / 2);
  const headBytes = Math.ceil(limits.logBytes / 2);
  if (tail.length === 0 && dropped === 0 && linesSent < headLines && bytesSent + size <= headBytes) {
    linesSent += 1;
    bytesSent += size;
    batch.push(line);
    if (batch.length >= BATCH_LINES) flushLogs();
    else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushLogs);
    }
    return;
  }
  tail.push(line);
  tailBytes += size;
  while (tail.length > limits.logLines - linesSent || tailBytes > limits.logBytes - bytesSent) {
    tailBytes -= Buffer.byteLength(tail.shift()!.message);
    dropped += 1;
  }
}

function flushLogs(): void {
  flushScheduled = false;
  if (batch.length === 0 && !batchTruncated) return;
  const lines = batch;
  const truncated = batchTruncated;
  batch = [];
  batchTruncated = false;
  send({ type: 'log', lines, truncated, dropped: 0 });
}

/** At the end of a load or a run: what was sent live, then the window of the latest lines. */
function flushAllLogs(): void {
  flushLogs();
  if (tail.length === 0 && dropped === 0) return;
  send({ type: 'log', lines: tail, truncated: dropped > 0, dropped });
  tail = [];
  tailBytes = 0;
  dropped = 0;
}

function captureStream(stream: 'stdout' | 'stderr'): void {
  const target = stream === 'stdout' ? process.stdout : process.stderr;
  // The global console writes through these same methods, so this one override covers both.
  target.write = (chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean => {
    capture(stream, chunk);
    const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  };
}

// ---- loading -----------------------------------------------------------------------------------

let handler: Handler | null = null;
let loading = false;
let memoryMb = 0;

/**
 * LANG is C.UTF-8: the UTF-8 locale every C library has without locale files (the sandbox has
 * none), where Lambda's en_US.UTF-8 may not exist. TZ applies at once: Node drops its cached zone.
 */
function lambdaEnv(msg: LoadMessage): Record<string, string> {
  return {
    AWS_LAMBDA_FUNCTION_NAME: msg.name,
    AWS_LAMBDA_FUNCTION_VERSION: String(msg.version),
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(msg.memoryMb),
    TZ: 'UTC',
    HOME: '/tmp',
    LANG: 'C.UTF-8',
  };
}

async function onLoad(msg: LoadMessage): Promise<void> {
  if (handler || loading) {
    send({ type: 'load-error', error: wireError('Error', 'runtime process already holds a function') });
    return;
  }
  loading = true;
  limits = msg.limits;
  resetLogBudget();
  // The process started with an empty environment; the function sees its own keys, over a few
  // that code ported from AWS Lambda reads (derived from the function, none from the worker).
  startCompileCache(msg.compileCache);
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, lambdaEnv(msg), msg.env);
  memoryMb = msg.memoryMb;
  try {
    const found = await loadHandler(msg);
    if (typeof found !== 'function') {
      const what = msg.handler === 'default' ? "the default export (or, without one, export 'handler')" : `export '${msg.handler}'`;
      throw new TypeError(`handler not found: ${what} is ${found === undefined ? 'missing' : `a ${typeof found}, not a function`}`);
    }
    handler = found as Handler;
    flushAllLogs();
    const compileCache = collectCompileCache(msg.compileCache);
    send({ type: 'loaded', rssBytes: process.memoryUsage.rss(), ...(compileCache && { compileCache }) });
  } catch (err) {
    flushAllLogs();
    send({ type: 'load-error', error: toWireError(err) });
  } finally {
    loading = false;
  }
}

// ---- invoking ----------------------------------------------------------------------------------

let current: string | null = null;
/** Taken before any function code runs, so the function cannot replace it. */
const cpuUsage = process.cpuUsage.bind(process);
let cpuAtInvoke: NodeJS.CpuUsage | null = null;

async function onInvoke(msg: InvokeMessage): Promise<void> {
  if (!handler || current !== null) {
    const why = handler ? 'an invocation is already running' : 'no function is loaded';
    send({ type: 'result', executionId: msg.executionId, rssBytes: process.memoryUsage.rss(), fatal: true, ok: false, error: wireError('Error', why) });
    return;
  }
  current = msg.executionId;
  cpuAtInvoke = cpuUsage();
  resetLogBudget();
  reportLate();
  lastRun = msg.executionId;
  const context = makeContext(msg);
  let outcome: Outcome;
  try {
    const event: unknown = JSON.parse(msg.inputJson);
    outcome = serialise(await callHandler(handler, event, context));
  } catch (err) {
    outcome = { ok: false, error: toWireError(err) };
  }
  finish(msg.executionId, outcome, false);
}

function makeContext(msg: InvokeMessage): InvocationContext {
  const deadline = msg.deadlineMs;
  const remaining = (): number => Math.max(0, deadline - Date.now());
  const fixed = (value: unknown): PropertyDescriptor => ({ value, enumerable: true, writable: false, configurable: false });
  const context = Object.create(Object.prototype, {
    executionId: fixed(msg.executionId),
    functionName: fixed(msg.functionName),
    version: fixed(msg.version),
    attempt: fixed(msg.attempt),
    deadline: fixed(deadline),
    remainingTimeMs: fixed(remaining),
    awsRequestId: fixed(msg.executionId),
    functionVersion: fixed(String(msg.version)),
    // A string, as Lambda has it.
    memoryLimitInMB: fixed(String(memoryMb)),
    getRemainingTimeInMillis: fixed(remaining),
    callbackWaitsForEmptyEventLoop: { value: true, enumerable: true, writable: true, configurable: false },
  }) as InvocationContext;
  return Object.seal(context);
}

/**
 * A handler declaring 3+ parameters that does not return a promise is callback style: its result is
 * what callback(err, value) gives; a later call of the callback is ignored. A handler that returns a
 * promise (any async function) is promise style whatever it declares; its callback is then ignored.
 */
function callHandler(fn: Handler, event: unknown, context: InvocationContext): Promise<unknown> {
  if (fn.length < 3) return Promise.resolve(fn(event, context));
  return new Promise((resolve, reject) => {
    let called = false;
    let inCall = true;
    let early: (() => void) | null = null;
    const callback: Callback = (err, value) => {
      if (called) return;
      called = true;
      const settle = (): void => {
        if (err === undefined || err === null) resolve(value);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- whatever the function passed fails the run as if thrown
        else reject(typeof err === 'string' ? new CallbackError(err) : err);
      };
      // Called before the handler returned: only a handler that returns no promise uses it.
      if (inCall) early = settle;
      else if (!isThenable(returned)) settle();
    };
    const returned = fn(event, context, callback);
    inCall = false;
    if (isThenable(returned)) resolve(returned);
    else (early as (() => void) | null)?.();
  });
}

/** callback('message'): Lambda reports the string as the error message. */
class CallbackError extends Error {
  override name = 'Error';
  constructor(message: string) {
    super(message);
    this.stack = `Error: ${message}`;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function finish(executionId: string, outcome: Outcome, fatal: boolean): void {
  // An uncaught exception may already have ended this invocation.
  if (current !== executionId) return;
  current = null;
  flushAllLogs();
  const used = cpuAtInvoke ? cpuUsage(cpuAtInvoke) : null;
  const cpu = used ? { cpuUs: used.user + used.system } : {};
  send({ type: 'result', executionId, rssBytes: process.memoryUsage.rss(), fatal, ...cpu, ...outcome });
}

function serialise(value: unknown): Outcome {
  let json: string | undefined;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (err) {
    return { ok: false, error: wireError('TypeError', `handler result is not JSON-serialisable: ${errorMessage(err)}`) };
  }
  if (json === undefined) {
    return { ok: false, error: wireError('TypeError', `handler result is not JSON-serialisable: a ${typeof value} has no JSON form`) };
  }
  const maxBytes = limits!.outputBytes;
  if (json.length > maxBytes / 3 && Buffer.byteLength(json) > maxBytes) {
    return { ok: false, error: wireError('RangeError', `output exceeds ${formatBytes(maxBytes)} (${Buffer.byteLength(json)} bytes)`) };
  }
  return { ok: true, outputJson: json };
}

// ---- errors ------------------------------------------------------------------------------------

function wireError(name: string, message: string, stack?: string): WireError {
  return stack === undefined ? { code: 'FUNCTION_ERROR', name, message } : { code: 'FUNCTION_ERROR', name, message, stack };
}

function toWireError(err: unknown): WireError {
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const e = err as { name?: unknown; message?: unknown; stack?: unknown };
    const name = safeString(e.name) || 'Error';
    const stack = typeof e.stack === 'string' ? userFrames(e.stack).slice(0, STACK_CHARS) : undefined;
    const wire = wireError(name, safeString(e.message), stack);
    const detailsJson = errorDetailsJson(err);
    return detailsJson === undefined ? wire : { ...wire, detailsJson };
  }
  return wireError('Error', `a non-error value was thrown: ${inspect(err, { depth: 2, breakLength: Infinity }).slice(0, 1000)}`);
}

/**
 * The error's `code` (own or inherited) and its own enumerable fields but name, message and stack,
 * as a JSON object; a field with no JSON form (a cycle, a BigInt, a throwing getter) is left out.
 * Over the cap it becomes `{ code, truncated: true }`.
 */
function errorDetailsJson(err: object): string | undefined {
  const parts: string[] = [];
  const add = (key: string, read: () => unknown): void => {
    try {
      const json = JSON.stringify(read());
      if (json !== undefined) parts.push(`${JSON.stringify(key)}:${json}`);
    } catch {
      // no JSON form: left out
    }
  };
  let keys: string[] = [];
  try {
    keys = Object.keys(err);
  } catch {
    // a Proxy that throws: only code is tried
  }
  if (!keys.includes('code')) add('code', () => (err as { code?: unknown }).code);
  for (const key of keys) if (key !== 'name' && key !== 'message' && key !== 'stack') add(key, () => (err as Record<string, unknown>)[key]);
  if (parts.length === 0) return undefined;
  const json = `{${parts.join(',')}}`;
  const maxBytes = limits?.errorDetailsBytes ?? 16 * 1024;
  if (json.length <= maxBytes / 3 || Buffer.byteLength(json) <= maxBytes) return json;
  let code: unknown;
  try {
    code = (err as { code?: unknown }).code;
  } catch {
    code = undefined;
  }
  const small = JSON.stringify({ ...(typeof code === 'string' || typeof code === 'number' ? { code: safeString(code).slice(0, 256) } : {}), truncated: true });
  return small;
}

/** Drops the runtime's own frames (and Node's below them): they mean nothing to the user. */
function userFrames(stack: string): string {
  const lines = stack.split('\n');
  let end = lines.findIndex((line) => line.includes(RUNTIME_DIR_URL));
  if (end === -1) return stack;
  // Node's loader frames between the function's and the runtime's (a CommonJS module's top level).
  while (end > 1 && /\(node:internal\/|at node:internal\//.test(lines[end - 1]!)) end--;
  return lines.slice(0, end).join('\n');
}

function safeString(value: unknown): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- whatever a function threw or logged, as String() renders it
    return typeof value === 'string' ? value : value === undefined ? '' : String(value);
  } catch {
    return '';
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : safeString(err);
}

function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

// ---- wiring ------------------------------------------------------------------------------------

process.on('unhandledRejection', (reason) => {
  // During a run or a load: as fatal as an uncaught exception (Node's default), see below.
  if (current !== null || loading) {
    onUncaught(reason);
    return;
  }
  // After the handler returned: reported on the next execution here, and the process lives on.
  const text =
    typeof reason === 'object' && reason !== null && typeof (reason as Error).stack === 'string' ? userFrames((reason as Error).stack!) : safeString(reason);
  noteLate('stderr', `unhandled rejection after the handler returned: ${text}`.slice(0, limits?.logLineChars ?? 8192));
});

process.on('uncaughtException', onUncaught);

function onUncaught(err: unknown): void {
  if (current !== null) {
    finish(current, { ok: false, error: toWireError(err) }, true);
    return; // the pool kills a process that reported a fatal result
  }
  if (loading) {
    flushAllLogs();
    send({ type: 'load-error', error: toWireError(err) });
    return;
  }
  realStderrWrite(`uncaught exception outside an invocation: ${safeString((err as Error | undefined)?.stack ?? err)}\n`);
  process.exit(70);
}

// Requests arrive on stdin: a libuv pipe read on the event loop (a read stream on fd 3 would go
// through the thread pool, ~50 µs more per message). Replies go out on fd 3.
const decoder = new FrameDecoder(MAX_PARENT_FRAME_BYTES);
process.stdin.on('data', (chunk: Buffer) => {
  const messages = decoder.push(chunk);
  if (messages instanceof FrameError) {
    realStderrWrite(`runtime: broken channel from the pool: ${messages.message}\n`);
    process.exit(70);
  }
  for (const raw of messages) {
    const msg = raw as ParentMessage;
    if (msg?.type === 'load') void onLoad(msg);
    else if (msg?.type === 'invoke') void onInvoke(msg);
  }
});
// Without its parent the process has no purpose; never linger as an orphan.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));

captureStream('stdout');
captureStream('stderr');
send({ type: 'ready', rssBytes: process.memoryUsage.rss() });
