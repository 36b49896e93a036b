/**
 * One runtime child process: spawns runtime.js under Node's permission model with an empty
 * environment, and turns the IPC protocol (messages.ts) into promises — ready, load, invoke —
 * one request at a time. Everything the child sends is validated: the child runs user code and is
 * never trusted. It never decides policy (timeouts, reuse, caps per execution): the pool does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hopTrace } from '../../common/hop-trace.js';
import type { Logger } from '../../common/logger.js';
import type { SandboxFunction } from './types.js';
import type {
  ChildMessage,
  InvokeMessage,
  LoadErrorMessage,
  ModuleFormat,
  ParentMessage,
  ResultMessage,
  RuntimeLimits,
  WireLogLine,
} from './messages.js';

/**
 * starting → idle (ready, no code: a prewarmed process) → loading → loaded ⇄ busy.
 * Any live state → dying (we sent SIGKILL) → dead (exited); any state → dead on an unexpected exit.
 */
export type SandboxState = 'starting' | 'idle' | 'loading' | 'loaded' | 'busy' | 'dying' | 'dead';

const TRANSITIONS: Record<SandboxState, readonly SandboxState[]> = {
  starting: ['idle', 'dying', 'dead'],
  idle: ['loading', 'dying', 'dead'],
  loading: ['loaded', 'dying', 'dead'],
  loaded: ['busy', 'dying', 'dead'],
  busy: ['loaded', 'dying', 'dead'],
  dying: ['dead'],
  dead: [],
};

/** Why the pool killed a process: a fixed vocabulary for logs and for classifying the exit. */
export type KillReason = 'timeout' | 'cancelled' | 'shutdown' | 'evicted' | 'reaped' | 'load_failed' | 'fatal' | 'protocol' | 'start_timeout';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last bytes of the child's stderr (Node's own fatal messages land there). */
  stderrTail: string;
  /** V8 reported that the heap limit was reached. */
  heapExhausted: boolean;
  /** Set when the pool killed the process; null for an exit of its own. */
  killReason: KillReason | null;
}

export class ProcessExitedError extends Error {
  constructor(readonly exit: ExitInfo) {
    super(`runtime process exited (code ${exit.code}, signal ${exit.signal})`);
    this.name = 'ProcessExitedError';
  }
}

export type LoadReply = { ok: true } | { ok: false; error: LoadErrorMessage['error'] };
export type LogSink = (lines: WireLogLine[], truncated: boolean) => void;

export interface ProcessSandboxOptions {
  runtimePath: string;
  memoryMb: number;
  logger: Logger;
  /** Kill the child if it has not said `ready` by then, ms. */
  startTimeoutMs: number;
}

/** Identity of the code a process holds; warm reuse requires all of it to match. */
export interface LoadedFunction {
  key: string;
  codeSha256: string;
  handler: string;
  envJson: string;
}

const STDERR_TAIL_BYTES = 8 * 1024;
const HEAP_MARKERS = [/heap out of memory/i, /Reached heap limit/i];
/** If stdio never closes after the exit (it should), settle anyway after this long, ms. */
const CLOSE_GRACE_MS = 1000;

export function permissionFlag(nodeVersion: string = process.versions.node): string {
  return Number(nodeVersion.split('.')[0]) >= 22 ? '--permission' : '--experimental-permission';
}

export function runtimeArgs(runtimePath: string, memoryMb: number): string[] {
  return [
    permissionFlag(),
    // Only the runtime script is readable: no fs writes, child processes, workers or addons.
    `--allow-fs-read=${runtimePath}`,
    `--max-old-space-size=${memoryMb}`,
    '--disable-warning=ExperimentalWarning',
    runtimePath,
  ];
}

export const loadedIdentity = (fn: SandboxFunction): LoadedFunction => ({
  key: `${fn.name}@${fn.version}`,
  codeSha256: fn.codeSha256,
  handler: fn.handler,
  envJson: JSON.stringify(Object.entries(fn.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
});

type Pending =
  | { kind: 'ready'; resolve: () => void; reject: (err: Error) => void }
  | { kind: 'load'; resolve: (r: LoadReply) => void; reject: (err: Error) => void; onLog: LogSink }
  | { kind: 'invoke'; executionId: string; resolve: (r: ResultMessage) => void; reject: (err: Error) => void; onLog: LogSink };

export class ProcessSandbox {
  readonly pid: number | undefined;
  readonly memoryMb: number;
  readonly spawnedAtMs = Date.now();
  /** What this process holds once loaded; null while generic. */
  loaded: LoadedFunction | null = null;
  /** Last RSS the child reported, bytes. */
  reportedRssBytes = 0;
  /** Settles (never rejects) once the process has exited and its stdio has closed. */
  readonly exited: Promise<ExitInfo>;

  #state: SandboxState = 'starting';
  #child: ChildProcess;
  #log: Logger;
  #pending: Pending | null = null;
  #readyPromise: Promise<void>;
  #stderrTail = '';
  #heapExhausted = false;
  #killReason: KillReason | null = null;
  #exitCode: number | null = null;
  #exitSignal: NodeJS.Signals | null = null;
  #settle!: (info: ExitInfo) => void;
  #startTimer: NodeJS.Timeout | undefined;

  constructor(opts: ProcessSandboxOptions) {
    this.memoryMb = opts.memoryMb;
    this.exited = new Promise((resolve) => (this.#settle = resolve));
    this.#readyPromise = new Promise<void>((resolve, reject) => (this.#pending = { kind: 'ready', resolve, reject }));
    this.#readyPromise.catch(() => {}); // observed through ready(); a prewarmed process may die unobserved
    this.#child = spawn(process.execPath, runtimeArgs(opts.runtimePath, opts.memoryMb), {
      env: {},
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.pid = this.#child.pid;
    this.#log = opts.logger.child({ pid: this.pid });
    this.#child.stdout?.resume(); // the runtime never writes there; drain so the child cannot block
    this.#child.stderr?.on('data', (chunk: Buffer) => this.#onStderr(chunk.toString('utf8')));
    this.#child.on('message', (raw) => this.#onMessage(raw));
    this.#child.on('error', (err) => this.#onError(err));
    this.#child.on('exit', (code, signal) => this.#onExit(code, signal));
    this.#child.on('close', () => this.#finalize());
    this.#startTimer = setTimeout(() => this.kill('start_timeout'), opts.startTimeoutMs);
    this.#startTimer.unref();
  }

  get state(): SandboxState {
    return this.#state;
  }

  /** Alive and usable: not killed, not exited. */
  get usable(): boolean {
    return this.#state !== 'dying' && this.#state !== 'dead';
  }

  /** Resolves once the child listens; rejects with ProcessExitedError if it dies first. */
  ready(): Promise<void> {
    return this.#readyPromise;
  }

  load(fn: SandboxFunction, format: ModuleFormat, limits: RuntimeLimits, onLog: LogSink): Promise<LoadReply> {
    this.#transition('loading');
    const msg: ParentMessage = { type: 'load', code: fn.code, format, handler: fn.handler, env: fn.env, name: fn.name, version: fn.version, limits };
    return new Promise<LoadReply>((resolve, reject) => {
      this.#pending = { kind: 'load', resolve, reject, onLog };
      this.#send(msg);
      this.loaded = loadedIdentity(fn);
    });
  }

  invoke(msg: Omit<InvokeMessage, 'type'>, onLog: LogSink): Promise<ResultMessage> {
    this.#transition('busy');
    return new Promise<ResultMessage>((resolve, reject) => {
      this.#pending = { kind: 'invoke', executionId: msg.executionId, resolve, reject, onLog };
      hopTrace.mark('W2 worker ipc send');
      this.#send({ type: 'invoke', ...msg });
    });
  }

  /** SIGKILL. The process is unusable from now on; `exited` settles once it is gone. */
  kill(reason: KillReason): void {
    if (!this.usable) return;
    this.#killReason = reason;
    this.#transition('dying');
    this.#log.debug({ reason }, 'killing runtime process');
    try {
      this.#child.kill('SIGKILL');
    } catch (err) {
      this.#log.warn({ err }, 'kill failed');
    }
  }

  #transition(next: SandboxState): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new Error(`runtime process ${this.pid}: illegal transition ${this.#state} → ${next}`);
    }
    this.#state = next;
  }

  #send(msg: ParentMessage): void {
    // A send to a dying child fails; its exit rejects the pending request, so nothing is lost.
    this.#child.send(msg, (err) => {
      if (err) this.#log.debug({ err }, 'send to runtime process failed');
    });
  }

  #onMessage(raw: unknown): void {
    hopTrace.mark('W3 worker ipc receive');
    if (!this.usable) return; // a killed process has no say any more
    const msg = parseChildMessage(raw);
    if (!msg) return this.#protocolError('malformed message');
    if ('rssBytes' in msg) this.reportedRssBytes = msg.rssBytes;
    const pending = this.#pending;
    switch (msg.type) {
      case 'ready':
        if (pending?.kind !== 'ready') return this.#protocolError('unexpected ready');
        clearTimeout(this.#startTimer);
        this.#pending = null;
        this.#transition('idle');
        return pending.resolve();
      case 'log':
        if (pending?.kind === 'load' || pending?.kind === 'invoke') pending.onLog(msg.lines, msg.truncated);
        return; // output outside a run (a stray timer) belongs to no execution: dropped
      case 'loaded':
      case 'load-error':
        if (pending?.kind !== 'load') return this.#protocolError(`unexpected ${msg.type}`);
        this.#pending = null;
        if (msg.type === 'loaded') {
          this.#transition('loaded');
          return pending.resolve({ ok: true });
        }
        return pending.resolve({ ok: false, error: msg.error });
      case 'result':
        if (pending?.kind !== 'invoke' || pending.executionId !== msg.executionId) return this.#protocolError('unexpected result');
        this.#pending = null;
        this.#transition('loaded');
        return pending.resolve(msg);
    }
  }

  #protocolError(what: string): void {
    this.#log.warn({ state: this.#state }, `runtime process broke the protocol: ${what}`);
    this.kill('protocol');
  }

  #onStderr(text: string): void {
    // Scan across the chunk boundary so a marker split in two is still seen.
    const window = this.#stderrTail.slice(-64) + text;
    if (!this.#heapExhausted && HEAP_MARKERS.some((re) => re.test(window))) this.#heapExhausted = true;
    this.#stderrTail = (this.#stderrTail + text).slice(-STDERR_TAIL_BYTES);
  }

  #onError(err: Error): void {
    // Spawn failures (EAGAIN, ENOMEM) arrive here, possibly without exit/close.
    this.#log.error({ err }, 'runtime process error');
    if (this.pid === undefined) {
      this.#stderrTail += `spawn failed: ${err.message}`;
      this.#finalize();
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exitCode = code;
    this.#exitSignal = signal;
    setTimeout(() => this.#finalize(), CLOSE_GRACE_MS).unref();
  }

  #finalize(): void {
    if (this.#state === 'dead') return;
    clearTimeout(this.#startTimer);
    this.#state = 'dead';
    const info: ExitInfo = {
      code: this.#exitCode ?? this.#child.exitCode,
      signal: this.#exitSignal ?? this.#child.signalCode,
      stderrTail: this.#stderrTail,
      heapExhausted: this.#heapExhausted,
      killReason: this.#killReason,
    };
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(new ProcessExitedError(info));
    this.#settle(info);
  }
}

/** Accepts only the shapes of messages.ts; anything else is a protocol violation. */
export function parseChildMessage(raw: unknown): ChildMessage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  switch (m.type) {
    case 'ready':
    case 'loaded':
      return isNum(m.rssBytes) ? (m as unknown as ChildMessage) : null;
    case 'load-error':
      return isWireError(m.error) ? (m as unknown as ChildMessage) : null;
    case 'log':
      return Array.isArray(m.lines) && m.lines.every(isLogLine) && typeof m.truncated === 'boolean' ? (m as unknown as ChildMessage) : null;
    case 'result': {
      if (typeof m.executionId !== 'string' || !isNum(m.rssBytes) || typeof m.fatal !== 'boolean') return null;
      if (m.ok === true) return typeof m.outputJson === 'string' ? (m as unknown as ChildMessage) : null;
      if (m.ok === false) return isWireError(m.error) ? (m as unknown as ChildMessage) : null;
      return null;
    }
    default:
      return null;
  }
}

function isWireError(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return e.code === 'FUNCTION_ERROR' && typeof e.message === 'string' && typeof e.name === 'string' && (e.stack === undefined || typeof e.stack === 'string');
}

function isLogLine(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return typeof l.ts === 'string' && (l.stream === 'stdout' || l.stream === 'stderr') && typeof l.message === 'string';
}
