/**
 * The sandbox pool: runs function invocations in runtime child processes (process-sandbox.ts).
 * Picks a warm process of the same version (no spawn, just IPC), else a prewarmed one that takes
 * the code, else spawns; keeps at most maxProcesses alive, evicting idle ones LRU (also to keep
 * the prewarmed reserve when warm processes fill the cap); reaps idle
 * warm processes after idleTtlMs; kills on timeout or abort. A process is never reused after a
 * kill, a crash, a failed load or a fatal error. It never lets one function's failure escape as
 * a rejection: every run() resolves to a RunOutcome.
 */
import { checkCode } from '../../common/code-check.js';
import { LIMITS } from '../../common/records.js';
import type { Logger } from '../../common/logger.js';
import { classifyExit } from './exit-classifier.js';
import { LogCap } from './log-cap.js';
import type { ModuleFormat, ResultMessage, RuntimeLimits } from './messages.js';
import { resolveSandboxPoolOptions, type ResolvedSandboxPoolOptions, type SandboxPoolOptions } from './pool-options.js';
import { CodeDirectory } from './code-dir.js';
import { ProcessExitedError, ProcessSandbox, loadedIdentity, type KillReason, type LoadedFunction, type LoadReply, type LogSink } from './process-sandbox.js';
import { RunGuard } from './run-guard.js';
import type { RunError, RunOutcome, RunRequest, SandboxFunction, SandboxLevel, SandboxPool, SandboxPoolStats } from './types.js';

export { resolveSandboxPoolOptions, SANDBOX_POOL_DEFAULTS } from './pool-options.js';
export type { SandboxPoolOptions, ResolvedSandboxPoolOptions, ProcessEvent } from './pool-options.js';

/** created → running → closing → closed; run() is accepted only while running. */
export type PoolState = 'created' | 'running' | 'closing' | 'closed';

const RUNTIME_LIMITS: RuntimeLimits = {
  outputBytes: LIMITS.outputBytes,
  logLines: LIMITS.logLines,
  logBytes: LIMITS.logBytes,
  logLineChars: LIMITS.logLineChars,
  errorDetailsBytes: LIMITS.errorDetailsBytes,
};
/** Module formats remembered by code hash, so a version is parsed once per pool, not per cold start. */
const FORMAT_CACHE_ENTRIES = 256;
/** ms a cold start may run before the prewarmed process it used is replaced (it is at the end of the run if sooner). */
const REFILL_DELAY_MS = 50;

interface Slot {
  proc: ProcessSandbox;
  /** Held by a run (loading or invoking); never picked by another. */
  leased: boolean;
  /** Started ahead of need, without code. */
  prewarm: boolean;
  lastUsedMs: number;
  /** Monotonic use order for LRU: many runs finish within the same millisecond. */
  lastUseSeq: number;
  /** Killed to make room for a prewarmed process; counts toward the reserve until it exits. */
  evictedForReserve?: boolean;
}

class PoolClosedError extends Error {}
class GuardFiredError extends Error {}

export function createSandboxPool(opts: SandboxPoolOptions = {}): SandboxPool {
  return new ProcessSandboxPool(resolveSandboxPoolOptions(opts));
}

export class ProcessSandboxPool implements SandboxPool {
  readonly level: SandboxLevel;
  #state: PoolState = 'created';
  #slots = new Set<Slot>();
  #changeWaiters: Array<() => void> = [];
  /** Runs waiting for a free process; refills hold back while any wait. */
  #waiting = 0;
  /** The last refill found the reserve short and nothing idle to evict: retry when a run ends. */
  #reserveShort = false;
  #formats = new Map<string, ModuleFormat>();
  /** Function code as files, one directory per process, and compile caches per version. */
  #code = new CodeDirectory();
  #useSeq = 0;
  #reaper: NodeJS.Timeout | undefined;
  #closing: Promise<void> | null = null;
  #log: Logger;

  constructor(readonly options: ResolvedSandboxPoolOptions) {
    this.#log = options.logger.child({ component: 'sandbox-pool' });
    this.level = options.isolation.level;
  }

  get state(): PoolState {
    return this.#state;
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`sandbox pool cannot start from state ${this.#state}`);
    this.#state = 'running';
    const period = Math.max(25, Math.min(Math.floor(this.options.idleTtlMs / 4), 30_000));
    this.#reaper = setInterval(() => this.#reap(), period);
    this.#reaper.unref();
    this.#refill();
    // A prewarmed process that fails to start is logged and replaced, not fatal to the pool.
    await Promise.all([...this.#slots].map((s) => s.proc.ready().catch(() => undefined)));
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    if (this.#state === 'created') throw new Error('sandbox pool not started');
    const runStartMs = Date.now();
    if (this.#state !== 'running') {
      return {
        coldStart: false,
        initMs: 0,
        durationMs: 0,
        startedAtMs: runStartMs,
        finishedAtMs: runStartMs,
        logsTruncated: false,
        ok: false,
        error: { code: 'WORKER_LOST', message: 'the sandbox pool is closed' },
      };
    }
    const { executionId, fn } = req;
    const log = this.#log.child({ executionId });
    const guard = new RunGuard({ deadlineMs: req.deadlineMs, timeoutMs: fn.timeoutMs, signal: req.signal });
    const logs = new LogCap((lines, truncated, dropped) => {
      try {
        req.onLog?.(lines, truncated, dropped);
      } catch (err) {
        log.warn({ err }, 'onLog listener threw');
      }
    });
    let slot: Slot | null = null;
    let coldStart = false;
    let initMs = 0;
    let refillTimer: NodeJS.Timeout | null = null;
    let startedAtMs: number | null = null;
    const done = (result: { ok: true; outputJson: string } | { ok: false; error: RunError }): RunOutcome => {
      logs.finish();
      const finishedAtMs = Date.now();
      const started = startedAtMs ?? runStartMs;
      const cpuMs = startedAtMs === null ? null : (slot?.proc.lastRunCpuMs ?? null);
      return {
        coldStart,
        initMs,
        durationMs: startedAtMs === null ? 0 : finishedAtMs - started,
        startedAtMs: started,
        finishedAtMs,
        logsTruncated: logs.truncated,
        ...(cpuMs !== null ? { cpuMs } : {}),
        ...result,
      };
    };

    try {
      // Parse before taking a process when no warm one exists, so invalid code wastes nothing.
      let format = this.#hasWarm(fn) ? null : this.#formatOf(fn);
      const lease = await this.#acquire(fn, guard);
      slot = lease.slot;
      coldStart = lease.cold;
      const proc = slot.proc;
      guard.onFire(() => proc.kill(guard.killReason));
      if (coldStart) {
        const initStartMs = Date.now();
        await proc.ready();
        format ??= this.#formatOf(fn);
        const loaded = await this.#load(proc, fn, format, (lines, t, d) => logs.accept(lines, t, d));
        // The refill's fork and the new process's start-up would compete for CPU with this cold
        // start: spawn it once the run has ended and its outcome is sent, or after REFILL_DELAY_MS
        // for a long run.
        refillTimer = setTimeout(() => this.#refill(), REFILL_DELAY_MS);
        refillTimer.unref();
        if (!loaded.ok) {
          proc.kill('load_failed');
          log.info({ key: proc.loaded?.key }, 'function failed to load');
          return done({ ok: false, error: loaded.error });
        }
        initMs = Date.now() - initStartMs;
      }
      startedAtMs = Date.now();
      const resultPromise = proc.invoke(
        { executionId, inputJson: req.inputJson, attempt: req.attempt, deadlineMs: req.deadlineMs, functionName: fn.name, version: fn.version },
        (lines, t, d) => logs.accept(lines, t, d),
      );
      try {
        req.onStarted?.({ coldStart, initMs, startedAtMs });
      } catch (err) {
        log.warn({ err }, 'onStarted listener threw');
      }
      const result = await resultPromise;
      return done(this.#finishInvoke(slot, result));
    } catch (err) {
      if (guard.error) return done({ ok: false, error: guard.error });
      if (err instanceof PoolClosedError) return done({ ok: false, error: { code: 'WORKER_LOST', message: 'the sandbox pool is closed' } });
      if (err instanceof ProcessExitedError) {
        const error = classifyExit(err.exit, fn.memoryMb);
        log.warn({ code: err.exit.code, signal: err.exit.signal, stderr: err.exit.stderrTail.slice(-1024) }, `runtime process died: ${error.code}`);
        return done({ ok: false, error });
      }
      if (isInvalidCode(err)) return done({ ok: false, error: { code: 'FUNCTION_ERROR', name: 'InvalidCode', message: (err as Error).message } });
      log.error({ err }, 'sandbox run failed');
      slot?.proc.kill('protocol');
      return done({ ok: false, error: { code: 'SANDBOX_CRASH', message: `sandbox failure: ${err instanceof Error ? err.message : String(err)}` } });
    } finally {
      guard.dispose();
      if (slot) this.#release(slot);
      if (refillTimer) {
        clearTimeout(refillTimer);
        // After the outcome is on its way: the fork blocks this thread for about a millisecond.
        setImmediate(() => this.#refill());
      }
    }
  }

  stats(): SandboxPoolStats {
    let busy = 0;
    let idle = 0;
    let prewarmed = 0;
    let rssBytes = 0;
    const warm = new Set<string>();
    for (const slot of this.#slots) {
      const { proc } = slot;
      if (slot.leased) busy += 1;
      else if (proc.loaded) idle += 1;
      else prewarmed += 1;
      if (proc.loaded && (proc.state === 'loaded' || proc.state === 'busy')) warm.add(proc.loaded.key);
      rssBytes += proc.residentBytes() ?? proc.reportedRssBytes;
    }
    return { processes: this.#slots.size, busy, idle, prewarmed, warm: [...warm].sort(), rssBytes };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    clearInterval(this.#reaper);
    this.#notify(); // waiting runs see the state and give up
    const exits = [...this.#slots].map((slot) => {
      try {
        slot.proc.kill('shutdown');
      } catch (err) {
        this.#log.warn({ err, pid: slot.proc.pid }, 'kill on close failed');
      }
      return slot.proc.exited;
    });
    await Promise.all(exits);
    this.#code.close();
    this.#state = 'closed';
  }

  // ---- choosing a process ----------------------------------------------------------------------

  async #acquire(fn: SandboxFunction, guard: RunGuard): Promise<{ slot: Slot; cold: boolean }> {
    const identity = loadedIdentity(fn);
    let evicted: ProcessSandbox | null = null;
    for (;;) {
      if (guard.error) throw new GuardFiredError();
      if (this.#state !== 'running') throw new PoolClosedError();
      const warm = this.#findWarm(identity, fn.memoryMb);
      if (warm) return { slot: this.#lease(warm), cold: false };
      const generic = this.#findGeneric(fn.memoryMb);
      if (generic) return { slot: this.#lease(generic), cold: true };
      if (this.#slots.size < this.options.maxProcesses) return { slot: this.#lease(this.#spawn(fn.memoryMb, false)), cold: true };
      // Full: make room by killing the least recently used idle process, one at a time per waiter.
      if (!evicted || evicted.state === 'dead') {
        const victim = this.#lruIdle();
        evicted = victim?.proc ?? null;
        if (victim) {
          this.#log.info({ pid: victim.proc.pid, key: victim.proc.loaded?.key ?? null }, 'evicting idle runtime process');
          victim.proc.kill('evicted');
        }
      }
      this.#waiting += 1;
      try {
        await Promise.race([this.#nextChange(), guard.fired]);
      } finally {
        this.#waiting -= 1;
      }
    }
  }

  #hasWarm(fn: SandboxFunction): boolean {
    return this.#findWarm(loadedIdentity(fn), fn.memoryMb) !== null;
  }

  #findWarm(identity: LoadedFunction, memoryMb: number): Slot | null {
    let best: Slot | null = null;
    for (const slot of this.#slots) {
      const { proc } = slot;
      if (slot.leased || proc.state !== 'loaded' || proc.memoryMb !== memoryMb || !sameFunction(proc.loaded, identity)) continue;
      // Most recently used first: keeps the others idle long enough to be reaped.
      if (!best || slot.lastUseSeq > best.lastUseSeq) best = slot;
    }
    return best;
  }

  #findGeneric(memoryMb: number): Slot | null {
    let starting: Slot | null = null;
    for (const slot of this.#slots) {
      if (slot.leased || slot.proc.memoryMb !== memoryMb) continue;
      if (slot.proc.state === 'idle') return slot;
      if (slot.proc.state === 'starting') starting ??= slot;
    }
    return starting; // already forking: waiting for it beats starting another
  }

  /** The least recently used idle process: warm or prewarmed, or only warm ones with 'loaded'. */
  #lruIdle(only?: 'loaded'): Slot | null {
    let lru: Slot | null = null;
    for (const slot of this.#slots) {
      const s = slot.proc.state;
      if (slot.leased || (s !== 'loaded' && (only === 'loaded' || s !== 'idle'))) continue;
      if (!lru || slot.lastUseSeq < lru.lastUseSeq) lru = slot;
    }
    return lru;
  }

  #lease(slot: Slot): Slot {
    slot.leased = true;
    slot.prewarm = false;
    return slot;
  }

  #release(slot: Slot): void {
    slot.leased = false;
    slot.lastUsedMs = Date.now();
    slot.lastUseSeq = ++this.#useSeq;
    // Only a process that finished cleanly goes back; anything else must not be picked again.
    const state = slot.proc.state;
    if (state !== 'loaded' && slot.proc.usable) slot.proc.kill(state === 'idle' || state === 'starting' || state === 'loading' ? 'load_failed' : 'protocol');
    this.#notify();
    // Like the cold start's refill: after the outcome is on its way (a fork blocks this thread).
    if (this.#reserveShort) setImmediate(() => this.#refill());
  }

  #finishInvoke(slot: Slot, result: ResultMessage): { ok: true; outputJson: string } | { ok: false; error: RunError } {
    if (result.fatal) slot.proc.kill('fatal');
    if (!result.ok) {
      // The child is untrusted: enforce the details cap again (a bad value is dropped, not passed on).
      const { detailsJson, ...error } = result.error;
      return { ok: false, error: detailsJson !== undefined && Buffer.byteLength(detailsJson) <= LIMITS.errorDetailsBytes ? { ...error, detailsJson } : error };
    }
    // The child is untrusted: enforce the output cap again.
    if (Buffer.byteLength(result.outputJson) > LIMITS.outputBytes) {
      return { ok: false, error: { code: 'FUNCTION_ERROR', name: 'RangeError', message: `output exceeds ${LIMITS.outputBytes / (1024 * 1024)} MiB` } };
    }
    return { ok: true, outputJson: result.outputJson };
  }

  /** Puts the code into the process's directory, loads it, and keeps the compile cache it made. */
  async #load(proc: ProcessSandbox, fn: SandboxFunction, format: ModuleFormat, onLog: LogSink): Promise<LoadReply> {
    const placed = this.#code.place(proc.codeDir!, proc.visibleCodeDir!, fn, format, this.options.compileCache);
    const producing = placed.compileCache?.mode === 'write';
    let loaded: LoadReply | undefined;
    try {
      loaded = await proc.load(fn, format, placed, RUNTIME_LIMITS, onLog);
      return loaded;
    } finally {
      if (producing) {
        if (loaded?.ok && loaded.compileCache !== undefined) this.#code.storeCache(fn, loaded.compileCache);
        else this.#code.abandonCache(fn);
      }
    }
  }

  #formatOf(fn: SandboxFunction): ModuleFormat {
    // Parsing a bundle of megabytes takes the worker's event loop for a second: only when unsaid.
    if (fn.format) return fn.format;
    const cacheKey = `${fn.codeSha256}:${fn.handler}`;
    const cached = this.#formats.get(cacheKey);
    if (cached) return cached;
    const { format } = checkCode(fn.code, fn.handler);
    if (this.#formats.size >= FORMAT_CACHE_ENTRIES) this.#formats.delete(this.#formats.keys().next().value!);
    this.#formats.set(cacheKey, format);
    return format;
  }

  // ---- process lifecycle -----------------------------------------------------------------------

  #spawn(memoryMb: number, prewarm: boolean): Slot {
    const codeDir = this.#code.createSandboxDir();
    const proc = new ProcessSandbox({
      runtimePath: this.options.runtimePath,
      memoryMb,
      logger: this.#log,
      startTimeoutMs: this.options.startTimeoutMs,
      isolation: this.options.isolation,
      codeDir,
    });
    const slot: Slot = { proc, leased: false, prewarm, lastUsedMs: Date.now(), lastUseSeq: ++this.#useSeq };
    this.#slots.add(slot);
    this.#log.debug({ pid: proc.pid, memoryMb, prewarm }, 'spawned runtime process');
    this.#emit({ type: 'spawned', pid: proc.pid, memoryMb, prewarm });
    void proc.exited.then((exit) => {
      this.#slots.delete(slot);
      this.#code.removeSandboxDir(codeDir);
      const reason: KillReason | 'exited' = exit.killReason ?? 'exited';
      this.#log.debug({ pid: proc.pid, key: proc.loaded?.key ?? null, code: exit.code, signal: exit.signal, reason }, 'runtime process exited');
      this.#emit({ type: 'exited', pid: proc.pid, key: proc.loaded?.key ?? null, code: exit.code, signal: exit.signal, reason });
      this.#notify();
      this.#refill();
    });
    return slot;
  }

  /**
   * Tops the prewarmed processes back up, without ever taking room a waiting run needs. When warm
   * processes fill maxProcesses, the least recently used one idle for reserveEvictIdleMs is evicted
   * to make room: a function that lost its warm process starts again from the pool in a few ms,
   * while a full pool with no reserve forks (~70 ms) on the critical path of every new function.
   * Retried when a run ends and by the reaper while the reserve is short.
   */
  #refill(): void {
    this.#reserveShort = false;
    if (this.#state !== 'running') return;
    if (this.#waiting > 0) {
      this.#reserveShort = true; // the waiting run takes the room first; retried when a run ends
      return;
    }
    let reserve = 0;
    for (const slot of this.#slots) {
      if (slot.prewarm ? !slot.leased && slot.proc.usable : slot.evictedForReserve) reserve += 1;
    }
    while (reserve < this.options.prewarm) {
      if (this.#slots.size < this.options.maxProcesses) {
        this.#spawn(this.options.prewarmMemoryMb, true);
      } else {
        const victim = this.#lruIdle('loaded');
        if (!victim || Date.now() - victim.lastUsedMs < this.options.reserveEvictIdleMs) {
          this.#reserveShort = true;
          return;
        }
        this.#log.info({ pid: victim.proc.pid, key: victim.proc.loaded?.key ?? null }, 'evicting idle runtime process for the prewarmed reserve');
        victim.evictedForReserve = true;
        victim.proc.kill('evicted'); // its exit calls #refill again, which spawns into the room
      }
      reserve += 1;
    }
  }

  #reap(): void {
    if (this.#reserveShort) this.#refill();
    const now = Date.now();
    for (const slot of this.#slots) {
      if (slot.leased || slot.proc.state !== 'loaded') continue;
      if (now - slot.lastUsedMs >= this.options.idleTtlMs) {
        this.#log.info({ pid: slot.proc.pid, key: slot.proc.loaded?.key }, 'reaping idle runtime process');
        slot.proc.kill('reaped');
      }
    }
  }

  #nextChange(): Promise<void> {
    return new Promise((resolve) => this.#changeWaiters.push(resolve));
  }

  #notify(): void {
    const waiters = this.#changeWaiters;
    this.#changeWaiters = [];
    for (const wake of waiters) wake();
  }

  #emit(event: Parameters<NonNullable<ResolvedSandboxPoolOptions['onProcessEvent']>>[0]): void {
    try {
      this.options.onProcessEvent?.(event);
    } catch (err) {
      this.#log.warn({ err }, 'onProcessEvent listener threw');
    }
  }
}

function sameFunction(a: LoadedFunction | null, b: LoadedFunction): boolean {
  return a !== null && a.key === b.key && a.codeSha256 === b.codeSha256 && a.handler === b.handler && a.envJson === b.envJson;
}

function isInvalidCode(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'INVALID_CODE';
}
