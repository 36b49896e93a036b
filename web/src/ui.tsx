/** Small shared pieces of the pages: links that route in place, status badges, errors, bars. */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { ms, timingParts } from './format.js';
import type { Pager } from './executions-model.js';
import type { Timings } from './types.js';

export type Navigate = (to: string, opts?: { replace?: boolean }) => void;

/** Whether the user has moved since the page loaded (only then does a new page take the focus). */
let moved = false;
export const markMoved = (): void => {
  moved = true;
};

let navigateImpl: Navigate = (to) => {
  window.location.assign(to);
};
/** Set once by the app; links and pages route through it. */
export const setNavigate = (n: Navigate): void => {
  navigateImpl = n;
};
export const navigate: Navigate = (to, opts) => {
  markMoved();
  navigateImpl(to, opts);
};

export function Link(props: { to: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }): JSX.Element {
  const onClick = (e: MouseEvent): void => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={props.to} onClick={onClick} class={props.class} aria-current={props['aria-current']}>
      {props.children}
    </a>
  );
}

export function StatusBadge({ status }: { status: string }): JSX.Element {
  return <span class={`badge status-${status}`}>{status.replace('_', ' ')}</span>;
}

export function ErrorNote({ error }: { error: unknown }): JSX.Element | null {
  if (!error) return null;
  const text =
    error instanceof ApiError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : typeof error === 'string'
          ? error
          : 'something went wrong';
  return (
    <p class="error-note" role="alert">
      {text}
    </p>
  );
}

/** The wait of an execution as one bar: queued, sandbox start (init), run. */
export function TimingsBar({ timings }: { timings: Timings | null | undefined }): JSX.Element {
  const p = timingParts(timings);
  if (p.total === 0) return <p class="muted">No timings yet.</p>;
  const parts: [string, number, number | null | undefined][] = [
    ['queued', p.queued, timings?.queuedMs],
    ['init', p.init, timings?.initMs],
    ['run', p.run, timings?.runMs],
  ];
  return (
    <figure class="timings" aria-label="Timings">
      <div class="timings-bar" aria-hidden="true">
        {parts.map(([name, frac]) => frac > 0 && <span key={name} class={`seg seg-${name}`} style={{ width: `${Math.max(frac * 100, 0.5)}%` }} />)}
      </div>
      <figcaption>
        {parts.map(([name, , value]) => (
          <span key={name} class="legend">
            <span class={`swatch seg-${name}`} aria-hidden="true" /> {name} {ms(value)}
          </span>
        ))}
        {timings?.cpuMs !== undefined && timings.cpuMs !== null && <span class="legend">cpu {ms(timings.cpuMs)}</span>}
      </figcaption>
    </figure>
  );
}

/** A worker's load against its capacity. */
export function LoadMeter({ inFlight, capacity, label }: { inFlight: number; capacity: number; label: string }): JSX.Element {
  const frac = capacity > 0 ? Math.min(1, inFlight / capacity) : 0;
  return (
    <div class="load">
      <div
        class="load-bar"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={capacity}
        aria-valuenow={inFlight}
        aria-valuetext={`${inFlight} of ${capacity} slots busy`}
      >
        <span class={frac >= 1 ? 'full' : ''} style={{ width: `${frac * 100}%` }} />
      </div>
      <span class="load-text">
        {inFlight} / {capacity}
      </span>
    </div>
  );
}

/**
 * The page's heading, focused when the user moves to the page (a screen reader announces it); on
 * the first load the focus stays at the top, where the skip link is.
 */
export function PageTitle({ children }: { children: ComponentChildren }): JSX.Element {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (moved) ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

/** A wide table that scrolls sideways on a narrow screen, reachable with the keyboard. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }): JSX.Element {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** The current time, every `everyMs` (for "5 s ago"). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/** Previous / Next over a Pager; `next` is the page's nextCursor, `changed` is called after a move. */
export function PagerNav({ pager, next, changed }: { pager: Pager; next: string | null; changed: () => void }): JSX.Element {
  return (
    <nav class="pager" aria-label="Pages">
      <button
        type="button"
        disabled={pager.first}
        onClick={() => {
          pager.previous();
          changed();
        }}
      >
        Previous
      </button>
      <span>Page {pager.page}</span>
      <button
        type="button"
        disabled={next === null}
        onClick={() => {
          if (next === null) return;
          pager.next(next);
          changed();
        }}
      >
        Next
      </button>
    </nav>
  );
}
