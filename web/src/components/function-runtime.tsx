/** A function's circuit breaker, result cache and triggers (cron ones with their next tick), on its page. */
import type { JSX } from 'preact';
import { ms } from '../format.js';
import { circuitText, relative } from '../records.js';
import type { FunctionInfo } from '../types.js';
import { useNow } from '../ui.js';

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export function FunctionRuntime({ fn }: { fn: FunctionInfo }): JSX.Element | null {
  const now = useNow();
  const triggers = fn.triggers ?? [];
  const breaker = fn.circuitBreaker ?? null;
  const circuit = fn.circuit ?? null;
  const cache = fn.cacheTtlMs ?? 0;
  if (!breaker && !circuit && cache === 0 && triggers.length === 0) return null;
  return (
    <div class="panel">
      <h2>Triggers and protection</h2>
      <dl class="settings" aria-label="Triggers and protection">
        {(breaker || circuit) && (
          <>
            <dt>Circuit breaker</dt>
            <dd data-circuit={circuit?.state ?? 'closed'}>
              {circuit ? (
                <>
                  <span class={`badge circuit-${circuit.state}`}>{circuitText(circuit.state)}</span>
                  {circuit.state === 'open' && circuit.retryAt && <> trial call {relative(circuit.retryAt, now)}</>}
                  {circuit.failures > 0 && <span class="muted"> {circuit.failures} recent failures</span>}
                  {circuit.opens > 0 && <span class="muted">, opened {circuit.opens} times</span>}
                </>
              ) : (
                'closed'
              )}
              {breaker && (
                <div class="muted small">
                  opens after {breaker.failureThreshold ?? 'the default number of'} failures
                  {breaker.windowMs !== undefined ? ` within ${ms(breaker.windowMs)}` : ''}
                  {breaker.cooldownMs !== undefined ? `, cools down ${ms(breaker.cooldownMs)}` : ''}
                </div>
              )}
            </dd>
          </>
        )}
        {cache > 0 && (
          <>
            <dt>Result cache</dt>
            <dd>outputs reused for {ms(cache)}</dd>
          </>
        )}
        {triggers.length > 0 && (
          <>
            <dt>Triggers</dt>
            <dd>
              <ul class="plain">
                {triggers.map((t, i) => (
                  <li key={i}>
                    {t.type === 'cron' ? (
                      <>
                        cron <code>{text(t.schedule)}</code>
                        {typeof t.timezone === 'string' && ` (${t.timezone})`}
                        {'nextAt' in t && <>, next {typeof t.nextAt === 'string' ? <time dateTime={t.nextAt}>{relative(t.nextAt, now)}</time> : 'never'}</>}
                      </>
                    ) : t.type === 'topic' ? (
                      <>
                        topic <code>{text(t.topic)}</code>
                        {t.filter !== undefined && <span class="muted"> filter {text(t.filter)}</span>}
                      </>
                    ) : (
                      t.type
                    )}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}
