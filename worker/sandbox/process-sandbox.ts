/**
 * One runtime child process: spawns runtime.js inside the pool's isolation (isolation.ts) under
 * Node's permission model with an empty environment, and turns the IPC protocol (messages.ts, in
 * capped frames: frames.ts) into promises — ready, load, invoke — one request at a time.
 * Everything the child sends is validated: the child runs user code and is never trusted; a child
 * that breaks the protocol or floods the channel is killed, and the worker never crashes for it.
 * It also enforces what it can measure itself: resident memory (sampled from /proc while code
 * runs), and no CPU between runs (the process is stopped while it holds no invocation). It never
 * decides policy (timeouts, reuse, caps per execution): the pool does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { markHop } from '../../common/diagnostics.js';
import type { Logger } from '../../common/logger.js';
import type { PlacedCode } from './code-dir.js';
import type { SandboxFunction } from './types.js';
import type { InvokeMessage, LoadErrorMessage, ModuleFormat, ParentMessage, ResultMessage, RuntimeLimits, WireLogLine } from './messages.js';
import { parseChildMessage } from './child-message.js';
import { runtimeArgs } from './runtime-args.js';
import { encodeFrame, FrameDecoder, FrameError } from './frames.js';
import { insecureIsolation, type Isolation } from './isolation.js';
import { innermostPid, rssBytes } from './proc-stats.js';

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
export type KillReason = 'timeout' | 'cancelled' | 'shutdown' | 'evicted' | 'reaped' | 'load_failed' | 'fatal' | 'protocol' | 'start_timeout' | 'memory';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last bytes of the child's stderr (Node's own fatal messages land there). */
  stderrTail: string;
  /** V8 reported that the heap limit was reached. */
  heapExhausted: boolean;
  /** Set when the pool killed the process; null for an exit of its own. */
  killReason: KillReason | null;
  /** What broke the protocol, when killReason is `protocol`. */
  protocolError?: string;
  /** Resident bytes last seen, when killReason is `memory`. */
  rssBytes?: number;
}

export class ProcessExitedError extends Error {
  constructor(readonly exit: ExitInfo) {
    super(`runtime process exited (code ${exit.code}, signal ${exit.signal})`);
    this.name = 'ProcessExitedError';
  }
}

/** `compileCache`: what the process sent back when asked to write one (unchecked: see code-dir.ts). */
export type LoadReply = { ok: true; compileCache?: unknown } | { ok: false; error: LoadErrorMessage['error'] };
export type LogSink = (lines: WireLogLine[], truncated: boolean, dropped: number) => void;

export interface ProcessSandboxOptions {
  runtimePath: string;
  memoryMb: number;
  logger: Logger;
  /** Kill the child if it has not said `ready` by then, ms. */
  startTimeoutMs: number;
  /** How the process is confined; default: the permission model alone. */
  isolation?: Isolation;
  /** Kill with OUT_OF_MEMORY once the process's RSS passes this, bytes; default memoryMb + RSS_ALLOWANCE_BYTES. */
  rssLimitBytes?: number;
  /** The process's own code directory on the host (code-dir.ts), readable to it only, read-only. */
  codeDir?: string;
}

/**
 * What a runtime process may hold beyond its function's memoryMb: node itself (about 45 MiB
 * resident before any code), its young generation and code space. memoryMb caps the V8 heap.
 */
export const RSS_ALLOWANCE_BYTES = 96 * 1024 * 1024;
/**
 * ms a loaded process may stay idle before it is stopped (SIGSTOP). Stopping at once would put a
 * stop and a continue (~80 µs) on every back-to-back invocation; this long, a timer left running
 * gets at most this much CPU before it is frozen until the next invocation.
 */
export const PAUSE_AFTER_IDLE_MS = 50;
/** A run's reported CPU time is capped at this many times its wall time (node's threads at most). */
const MAX_THREADS_CPU = 8;
/** How often RSS is sampled while the process holds code that may run, ms. */
const RSS_SAMPLE_MS = 20;
/**
 * Cap of one frame from the child: a result carries at most LIMITS.outputBytes of output (1 MiB,
 * JSON-escaped at most ~6×) and a log batch at most LIMITS.logBytes.
 */
export const MAX_CHILD_FRAME_BYTES = 8 * 1024 * 1024;
/** Bytes the child may send per request (load or invoke): logs and output are capped far below. */
export const MAX_CHILD_BYTES_PER_REQUEST = 32 * 1024 * 1024;

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
  /** Its code directory on the host, and as the process names it; null without one. */
  readonly codeDir: string | null;
  readonly visibleCodeDir: string | null;
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
  /** Replies from the child (fd 3 there); requests go to its stdin. */
  #channel: Readable;
  #requests: Writable;
  #decoder = new FrameDecoder(MAX_CHILD_FRAME_BYTES);
  #bytesThisRequest = 0;
  #brokenBecause: string | undefined;
  /** The node process itself (inside bwrap's PID namespace it is a grandchild), once known. */
  #runtimePid: number | null = null;
  #isolated: boolean;
  #stopped = false;
  #rssLimitBytes: number;
  #rssTimer: NodeJS.Timeout | undefined;
  #lastRss = 0;
  #pauseTimer: NodeJS.Timeout | undefined;
  #invokedAtMs = 0;
  /** CPU time the last invocation used, ms; null when it could not be read. */
  lastRunCpuMs: number | null = null;

  constructor(opts: ProcessSandboxOptions) {
    this.memoryMb = opts.memoryMb;
    const isolation = opts.isolation ?? insecureIsolation;
    this.#isolated = isolation.level === 'namespaces';
    this.#rssLimitBytes = opts.rssLimitBytes ?? opts.memoryMb * 1024 * 1024 + RSS_ALLOWANCE_BYTES;
    this.exited = new Promise((resolve) => (this.#settle = resolve));
    this.#readyPromise = new Promise<void>((resolve, reject) => (this.#pending = { kind: 'ready', resolve, reject }));
    this.#readyPromise.catch(() => {}); // observed through ready(); a prewarmed process may die unobserved
    this.codeDir = opts.codeDir ?? null;
    this.visibleCodeDir = opts.codeDir ? isolation.visibleCodeDir(opts.codeDir) : null;
    const args = runtimeArgs(opts.runtimePath, opts.memoryMb, { writableTmp: this.#isolated, ...(this.visibleCodeDir && { codeDir: this.visibleCodeDir }) });
    const plan = isolation.plan(args, opts.codeDir);
    // stdin carries requests, fd 3 (a socket pair end) replies: the only descriptors besides stdout/stderr.
    this.#child = spawn(plan.command, plan.args, { env: {}, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    this.pid = this.#child.pid;
    this.#log = opts.logger.child({ pid: this.pid });
    this.#channel = this.#child.stdio[3] as Readable;
    this.#requests = this.#child.stdin!;
    this.#requests.on('error', (err) => this.#log.debug({ err }, 'runtime stdin error'));
    this.#child.stdout?.resume(); // the runtime never writes there; drain so the child cannot block
    this.#child.stderr?.on('data', (chunk: Buffer) => this.#onStderr(chunk.toString('utf8')));
    this.#channel.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#channel.on('error', (err) => this.#log.debug({ err }, 'runtime channel error'));
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

  /** Loads `fn` from `code`, placed in this process's code directory (CodeDirectory.place). */
  load(fn: SandboxFunction, format: ModuleFormat, code: PlacedCode, limits: RuntimeLimits, onLog: LogSink): Promise<LoadReply> {
    this.#transition('loading');
    const msg: ParentMessage = {
      type: 'load',
      path: code.path,
      compileCache: code.compileCache,
      format,
      handler: fn.handler,
      env: fn.env,
      name: fn.name,
      version: fn.version,
      memoryMb: fn.memoryMb,
      limits,
    };
    return new Promise<LoadReply>((resolve, reject) => {
      this.#pending = { kind: 'load', resolve, reject, onLog };
      this.#watchMemory(true); // the module's top level is function code too
      this.#send(msg);
      this.loaded = loadedIdentity(fn);
    });
  }

  invoke(msg: Omit<InvokeMessage, 'type'>, onLog: LogSink): Promise<ResultMessage> {
    this.#transition('busy');
    return new Promise<ResultMessage>((resolve, reject) => {
      this.#pending = { kind: 'invoke', executionId: msg.executionId, resolve, reject, onLog };
      this.#resume();
      this.#invokedAtMs = Date.now();
      this.lastRunCpuMs = null;
      this.#watchMemory(true);
      markHop('W2 worker ipc send');
      this.#send({ type: 'invoke', ...msg });
    });
  }

  /** SIGKILL. The process is unusable from now on; `exited` settles once it is gone. */
  kill(reason: KillReason): void {
    if (!this.usable) return;
    this.#killReason = reason;
    this.#transition('dying');
    this.#watchMemory(false);
    this.#log.debug({ reason }, 'killing runtime process');
    try {
      this.#child.kill('SIGKILL');
      // bwrap's PID namespace dies with it; killing node too frees its memory at once.
      if (this.#runtimePid !== null && this.#runtimePid !== this.pid) process.kill(this.#runtimePid, 'SIGKILL');
    } catch (err) {
      this.#log.debug({ err }, 'kill failed');
    }
  }

  /** Resident bytes of node itself (not of bwrap's processes around it), from /proc; null when unknown. */
  residentBytes(): number | null {
    const pid = this.#runtimePid ?? this.pid;
    return pid === undefined || !this.usable ? null : rssBytes(pid);
  }

  /**
   * Between invocations a loaded process holds no work of ours, so it gets no CPU: a timer or a
   * loop the function left behind waits until the next invocation of the same function (or the
   * reaper). SIGSTOP/SIGCONT cost a syscall each.
   */
  #pause(): void {
    const pid = this.#runtimePid;
    if (pid === null || this.#stopped || !this.usable) return;
    try {
      process.kill(pid, 'SIGSTOP');
      this.#stopped = true;
    } catch {
      // gone: its exit is on its way
    }
  }

  #resume(): void {
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    if (!this.#stopped || this.#runtimePid === null) return;
    this.#stopped = false;
    try {
      process.kill(this.#runtimePid, 'SIGCONT');
    } catch {
      // gone: its exit is on its way
    }
  }

  /** Samples RSS while function code may run; over the limit the process is killed (OUT_OF_MEMORY). */
  #watchMemory(on: boolean): void {
    clearInterval(this.#rssTimer);
    this.#rssTimer = undefined;
    if (!on || this.#runtimePid === null || process.platform !== 'linux') return;
    const pid = this.#runtimePid;
    this.#rssTimer = setInterval(() => {
      const rss = rssBytes(pid);
      if (rss === null) return;
      this.#lastRss = rss;
      if (rss > this.#rssLimitBytes) {
        this.#log.warn({ rssBytes: rss, limitBytes: this.#rssLimitBytes }, 'runtime process over its memory limit');
        this.kill('memory');
      }
    }, RSS_SAMPLE_MS);
    this.#rssTimer.unref();
  }

  /** The process now holds no invocation: stop measuring it, and stop it unless it is used again soon. */
  #idle(): void {
    this.#watchMemory(false);
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = setTimeout(() => this.#pause(), PAUSE_AFTER_IDLE_MS);
    this.#pauseTimer.unref();
  }

  #transition(next: SandboxState): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new Error(`runtime process ${this.pid}: illegal transition ${this.#state} → ${next}`);
    }
    this.#state = next;
  }

  #send(msg: ParentMessage): void {
    this.#bytesThisRequest = 0;
    // A write to a dying child fails; its exit rejects the pending request, so nothing is lost.
    this.#requests.write(encodeFrame(msg), (err) => {
      if (err) this.#log.debug({ err }, 'send to runtime process failed');
    });
  }

  #onData(chunk: Buffer): void {
    if (!this.usable) return; // a killed process has no say any more
    this.#bytesThisRequest += chunk.length;
    if (this.#bytesThisRequest > MAX_CHILD_BYTES_PER_REQUEST) return this.#protocolError(`sent more than ${MAX_CHILD_BYTES_PER_REQUEST} bytes for one request`);
    const messages = this.#decoder.push(chunk);
    if (messages instanceof FrameError) return this.#protocolError(messages.message);
    for (const raw of messages) {
      if (!this.usable) return;
      this.#onMessage(raw);
    }
  }

  #onMessage(raw: unknown): void {
    markHop('W3 worker ipc receive');
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
        // Only now is node itself certain to exist under bwrap's processes.
        this.#runtimePid = this.#isolated && this.pid !== undefined ? innermostPid(this.pid) : (this.pid ?? null);
        return pending.resolve();
      case 'log':
        if (pending?.kind === 'load' || pending?.kind === 'invoke') pending.onLog(msg.lines, msg.truncated, msg.dropped ?? 0);
        return; // output outside a run (a stray timer) belongs to no execution: dropped
      case 'loaded':
      case 'load-error':
        if (pending?.kind !== 'load') return this.#protocolError(`unexpected ${msg.type}`);
        this.#pending = null;
        if (msg.type === 'loaded') {
          this.#transition('loaded');
          this.#idle();
          return pending.resolve({ ok: true, ...(msg.compileCache !== undefined && { compileCache: msg.compileCache }) });
        }
        this.#watchMemory(false);
        return pending.resolve({ ok: false, error: msg.error });
      case 'result': {
        if (pending?.kind !== 'invoke' || pending.executionId !== msg.executionId) return this.#protocolError('unexpected result');
        this.#pending = null;
        // Reported by the child: a lie only misstates its own record, so bound it by what is possible.
        const wallMs = Date.now() - this.#invokedAtMs;
        this.lastRunCpuMs = msg.cpuUs === undefined ? null : Math.min(msg.cpuUs / 1000, wallMs * MAX_THREADS_CPU);
        this.#transition('loaded');
        this.#idle();
        return pending.resolve(msg);
      }
    }
  }

  #protocolError(what: string): void {
    this.#log.warn({ state: this.#state }, `runtime process broke the protocol: ${what}`);
    this.#brokenBecause ??= what;
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
    this.#watchMemory(false);
    clearTimeout(this.#pauseTimer);
    this.#state = 'dead';
    let code = this.#exitCode ?? this.#child.exitCode;
    let signal = this.#exitSignal ?? this.#child.signalCode;
    // bwrap reports a child killed by signal N as exit code 128 + N.
    const bySignal = this.#isolated && signal === null && code !== null && code > 128 ? signalName(code - 128) : null;
    if (bySignal) [code, signal] = [null, bySignal];
    const info: ExitInfo = {
      code,
      signal,
      stderrTail: this.#stderrTail,
      heapExhausted: this.#heapExhausted,
      killReason: this.#killReason,
      ...(this.#brokenBecause !== undefined ? { protocolError: this.#brokenBecause } : {}),
      ...(this.#killReason === 'memory' ? { rssBytes: this.#lastRss } : {}),
    };
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(new ProcessExitedError(info));
    this.#settle(info);
  }
}

function signalName(n: number): NodeJS.Signals | null {
  const found = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return found ? (found[0] as NodeJS.Signals) : null;
}
