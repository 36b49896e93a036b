/**
 * Circuit breakers, one per function that opts in (FunctionSpec `circuitBreaker`):
 *
 *   closed ──(failureThreshold failed attempts within windowMs)──▶ open
 *   open ──(cooldownMs passed; the next dispatch is the probe)──▶ half_open
 *   half_open ──(the probe succeeds)──▶ closed       half_open ──(it fails)──▶ open
 *
 * While open, sync invokes are refused (503 CIRCUIT_OPEN) and queued executions stay queued;
 * in half_open exactly one execution (the probe) runs, the rest wait. An attempt that failed
 * through no fault of the function (its worker lost, refused, cancelled) counts for nothing, and
 * a probe that ends that way frees the probe's place for the next execution.
 *
 * State is memory only: after a scheduler restart every circuit starts closed (the first
 * failures open it again). Time comes from `now`; nothing here touches a record.
 */
import type { CircuitBreakerSpec, CircuitInfo, CircuitState } from '../common/records.js';

/** How an attempt ended, as a breaker counts it. */
export type AttemptOutcome = 'success' | 'failure' | 'neutral';

interface Circuit {
  state: CircuitState;
  /** Times (epoch ms) of failed attempts within the window, oldest first (closed only). */
  failures: number[];
  openedAtMs: number;
  /** The execution running as the probe (half_open), or null while none is. */
  probe: string | null;
  opens: number;
}

export interface CircuitBreakersOptions {
  /** The breaker settings of a function's latest version, or null when it has none. */
  spec: (fn: string) => CircuitBreakerSpec | null;
  now: () => number;
  /** Called (once per opening) with the delay after which queued work may be tried again. */
  wakeAfter: (ms: number) => void;
  /** Every change of state, for logs and metrics. */
  onChange?: (fn: string, from: CircuitState, to: CircuitState) => void;
}

export class CircuitBreakers {
  readonly #circuits = new Map<string, Circuit>();

  constructor(private readonly opts: CircuitBreakersOptions) {}

  /** A sync invoke of `fn` would wait behind an open circuit: refuse it instead. */
  rejectsSync(fn: string): { retryAfterMs: number } | null {
    const c = this.#live(fn);
    if (!c || c.state === 'closed') return null;
    const spec = this.opts.spec(fn)!;
    const left = c.openedAtMs + spec.cooldownMs - this.opts.now();
    if (c.state === 'open' && left <= 0) return null; // this invoke may become the probe
    return { retryAfterMs: Math.max(left, 1000) };
  }

  /** May `executionId` of `fn` be dispatched now? Changes nothing (see dispatched). */
  allows(fn: string, executionId: string): boolean {
    const c = this.#live(fn);
    if (!c || c.state === 'closed') return true;
    if (c.state === 'half_open') return c.probe === null || c.probe === executionId;
    return this.opts.now() >= c.openedAtMs + this.opts.spec(fn)!.cooldownMs;
  }

  /** `executionId` was dispatched: past an open circuit's cooldown it is the probe. */
  dispatched(fn: string, executionId: string): void {
    const c = this.#live(fn);
    if (!c || c.state === 'closed') return;
    if (c.state === 'open') this.#move(fn, c, 'half_open');
    c.probe = executionId;
  }

  /** An attempt of `fn` ended. */
  attemptEnded(fn: string, executionId: string, outcome: AttemptOutcome): void {
    const spec = this.opts.spec(fn);
    if (!spec) {
      this.#circuits.delete(fn);
      return;
    }
    const nowMs = this.opts.now();
    const c = this.#circuit(fn);
    if (c.state === 'half_open') {
      if (c.probe !== executionId) return; // dispatched before the circuit opened
      c.probe = null;
      if (outcome === 'success') this.#close(fn, c);
      else if (outcome === 'failure') this.#open(fn, c, spec, nowMs);
      return;
    }
    if (c.state === 'open' || outcome !== 'failure') return;
    c.failures.push(nowMs);
    while (c.failures.length > 0 && c.failures[0]! <= nowMs - spec.windowMs) c.failures.shift();
    if (c.failures.length >= spec.failureThreshold) this.#open(fn, c, spec, nowMs);
  }

  /** What FunctionInfo shows: null for a function without a breaker. */
  info(fn: string): CircuitInfo | null {
    const spec = this.opts.spec(fn);
    if (!spec) return null;
    const c = this.#circuits.get(fn);
    if (!c) return { state: 'closed', failures: 0, openedAt: null, retryAt: null, opens: 0 };
    const nowMs = this.opts.now();
    const recent = c.failures.filter((t) => t > nowMs - spec.windowMs).length;
    const open = c.state !== 'closed';
    return {
      state: c.state,
      failures: recent,
      openedAt: open ? new Date(c.openedAtMs).toISOString() : null,
      retryAt: c.state === 'open' ? new Date(c.openedAtMs + spec.cooldownMs).toISOString() : null,
      opens: c.opens,
    };
  }

  /** Every function's state, for metrics. */
  states(): Map<string, CircuitState> {
    const out = new Map<string, CircuitState>();
    for (const [fn, c] of this.#circuits) if (this.opts.spec(fn)) out.set(fn, c.state);
    return out;
  }

  #live(fn: string): Circuit | undefined {
    const c = this.#circuits.get(fn);
    if (c && !this.opts.spec(fn)) {
      // The function's new version has no breaker (or it was deleted): nothing holds its work back.
      this.#circuits.delete(fn);
      return undefined;
    }
    return c;
  }

  #circuit(fn: string): Circuit {
    let c = this.#circuits.get(fn);
    if (!c) {
      c = { state: 'closed', failures: [], openedAtMs: 0, probe: null, opens: 0 };
      this.#circuits.set(fn, c);
    }
    return c;
  }

  #open(fn: string, c: Circuit, spec: CircuitBreakerSpec, nowMs: number): void {
    c.openedAtMs = nowMs;
    c.failures = [];
    c.opens += 1;
    this.#move(fn, c, 'open');
    this.opts.wakeAfter(spec.cooldownMs);
  }

  #close(fn: string, c: Circuit): void {
    c.failures = [];
    this.#move(fn, c, 'closed');
  }

  #move(fn: string, c: Circuit, to: CircuitState): void {
    const from = c.state;
    c.state = to;
    if (from !== to) this.opts.onChange?.(fn, from, to);
  }
}
