/**
 * Cron triggers (docs/CRON.md): one timer for all of them, armed at the earliest next tick. When
 * it fires, every trigger with a due tick (cron-plan.ts) starts one execution through the
 * transition function's `fire` event — all of that moment's ticks in one durable commit — and
 * only then is the tick recorded as fired (cron-state-file.ts).
 *
 * Exactly once per tick, also across a kill -9: the execution's idempotency key names the
 * trigger and the tick, so a crash after the execution is durable but before the tick is recorded
 * finds that execution at the next start instead of starting another. After downtime, a trigger
 * whose ticks were missed fires once, for the latest missed tick.
 *
 * It must never fire a tick before its execution can be made durable, nor advance past a tick
 * whose execution could not be stored (it is retried after RETRY_MS).
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../common/logger.js';
import { parseSchedule, type Schedule } from '../../common/cron-schedule.js';
import type { CronTriggerSpec, FunctionVersion } from '../../common/records.js';
import { canonicalJson } from '../../common/triggers.js';
import { newExecutionId } from '../execution/manager.js';
import type { ExecutionState } from '../execution/state.js';
import type { FunctionRegistry } from '../function-registry.js';
import type { CronMark, CronStateFile } from '../store/cron-state-file.js';
import { dueTick, nextDue, tickIdempotencyKey } from './cron-plan.js';

/** ms: how long after a failed fire (storage unavailable) it is tried again. */
export const RETRY_MS = 1_000;
/** ms: setTimeout's largest delay; a later tick is reached by re-arming. */
const MAX_DELAY_MS = 2 ** 31 - 1;

interface ArmedTrigger {
  key: string;
  version: FunctionVersion;
  spec: CronTriggerSpec;
  schedule: Schedule;
}

/** A trigger's identity: its function and its content (schedule, timezone, input), not its position. */
export function cronTriggerKey(fn: string, spec: CronTriggerSpec): string {
  const digest = createHash('sha256')
    .update(canonicalJson({ schedule: spec.schedule, timezone: spec.timezone ?? null, input: spec.input ?? null }))
    .digest('hex');
  return `${fn}:${digest.slice(0, 16)}`;
}

export interface CronSchedulerOptions {
  state: ExecutionState;
  functions: FunctionRegistry;
  file: CronStateFile;
  log: Logger;
  now?: () => number;
}

export class CronScheduler {
  private readonly state: ExecutionState;
  private readonly functions: FunctionRegistry;
  private readonly file: CronStateFile;
  private readonly log: Logger;
  private readonly now: () => number;
  private triggers = new Map<string, ArmedTrigger>();
  private marks = new Map<string, CronMark>();
  private timer: NodeJS.Timeout | null = null;
  private firing: Promise<void> | null = null;
  private saving: Promise<void> = Promise.resolve();
  private retryAtMs = 0;
  private closed = false;
  private unsubscribe: (() => void) | null = null;
  /** Ticks fired since start (tests, metrics). */
  fired = 0;

  constructor(opts: CronSchedulerOptions) {
    this.state = opts.state;
    this.functions = opts.functions;
    this.file = opts.file;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
  }

  /** Reads the state file, picks up every function's cron triggers, fires what is due (catch-up). */
  async start(): Promise<void> {
    this.marks = await this.file.read();
    this.unsubscribe = this.functions.onChange(() => this.rebuild());
    this.rebuild();
  }

  /** When `fn`'s cron trigger `spec` fires next (ISO), or null when it is not armed or never fires again. */
  nextAt(fn: string, spec: CronTriggerSpec): string | null {
    const key = cronTriggerKey(fn, spec);
    const t = this.triggers.get(key);
    const mark = this.marks.get(key);
    if (!t || !mark) return null;
    const at = nextDue(t.schedule, Math.max(mark.afterMs, this.now() - 1));
    return at === null ? null : new Date(at).toISOString();
  }

  /** Stops the timer and waits for a fire and a state write in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.firing;
    await this.saving;
  }

  /** The latest versions' cron triggers; new ones count from now, vanished ones are forgotten. */
  private rebuild(): void {
    if (this.closed) return;
    const next = new Map<string, ArmedTrigger>();
    for (const version of this.functions.latestVersions()) {
      for (const spec of version.triggers ?? []) {
        if (spec.type !== 'cron') continue;
        const key = cronTriggerKey(version.name, spec);
        next.set(key, { key, version, spec, schedule: parseSchedule(spec.schedule, spec.timezone) });
      }
    }
    let changed = false;
    const nowMs = this.now();
    for (const key of next.keys()) {
      if (this.marks.has(key)) continue;
      this.marks.set(key, { function: next.get(key)!.version.name, afterMs: nowMs });
      changed = true;
    }
    for (const key of [...this.marks.keys()]) {
      if (next.has(key)) continue;
      this.marks.delete(key);
      changed = true;
    }
    this.triggers = next;
    if (changed) this.save();
    this.arm();
  }

  private arm(): void {
    if (this.closed || this.firing) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let earliest = Infinity;
    for (const t of this.triggers.values()) {
      const at = nextDue(t.schedule, this.marks.get(t.key)!.afterMs);
      if (at !== null && at < earliest) earliest = at;
    }
    if (earliest === Infinity) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, earliest - this.now(), this.retryAtMs - this.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.firing = this.fireDue().finally(() => {
        this.firing = null;
        this.arm();
      });
    }, delay);
    this.timer.unref();
  }

  private async fireDue(): Promise<void> {
    const nowMs = this.now();
    const due: Array<{ t: ArmedTrigger; tick: number }> = [];
    for (const t of this.triggers.values()) {
      const tick = dueTick(t.schedule, this.marks.get(t.key)!.afterMs, nowMs);
      if (tick !== null) due.push({ t, tick });
    }
    if (due.length === 0) return;
    const fresh = due.filter(({ t, tick }) => {
      // Looked up as of the tick: an execution started for it is found however long ago that was.
      const found = this.state.index.findIdempotent(t.version.name, tickIdempotencyKey(t.key, tick), tick);
      // Only a tick's own execution counts: an invoke that borrowed the key started nothing for the tick.
      const earlier = found?.execution.trigger?.type === 'cron' ? found : undefined;
      if (earlier)
        this.log.info({ function: t.version.name, tick: new Date(tick).toISOString(), executionId: earlier.execution.id }, 'cron tick already fired');
      return !earlier;
    });
    try {
      await this.state.applyAllDurably(
        fresh.map(({ t, tick }) => ({
          rec: undefined,
          event: {
            type: 'fire',
            nowMs,
            trigger: { type: 'cron', tick: new Date(tick).toISOString() },
            execution: {
              id: newExecutionId(),
              function: t.version.name,
              version: t.version.version,
              mode: 'async',
              input: structuredClone(t.spec.input ?? null),
              maxAttempts: t.version.maxRetries + 1,
              idempotencyKey: tickIdempotencyKey(t.key, tick),
            },
          },
        })),
      );
    } catch (err) {
      this.retryAtMs = this.now() + RETRY_MS;
      this.log.error({ err, triggers: fresh.length }, 'cron ticks could not be stored; retrying');
      return;
    }
    this.retryAtMs = 0;
    this.fired += fresh.length;
    for (const { t, tick } of due) {
      const mark = this.marks.get(t.key);
      if (mark) mark.afterMs = tick;
    }
    this.save();
  }

  /** Writes the marks; writes queue one behind the other, each with the latest marks. */
  private save(): void {
    const snapshot = new Map([...this.marks].map(([k, m]) => [k, { ...m }] as const));
    this.saving = this.saving
      .then(() => this.file.write(snapshot))
      .catch((err: unknown) => this.log.error({ err, path: this.file.path }, 'cron state write failed; the idempotency keys still hold'));
  }
}
