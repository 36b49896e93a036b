/**
 * The check of every message a runtime process sends (messages.ts): the child is untrusted, so
 * anything but the protocol's shapes is a protocol violation (process-sandbox.ts kills it).
 */
import type { ChildMessage } from './messages.js';

/** Accepts only the shapes of messages.ts; anything else is a protocol violation. */
export function parseChildMessage(raw: unknown): ChildMessage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  switch (m.type) {
    case 'ready':
      return isNum(m.rssBytes) ? (m as unknown as ChildMessage) : null;
    case 'loaded':
      return isNum(m.rssBytes) && (m.compileCache === undefined || Array.isArray(m.compileCache)) ? (m as unknown as ChildMessage) : null;
    case 'load-error':
      return isWireError(m.error) ? (m as unknown as ChildMessage) : null;
    case 'log':
      return Array.isArray(m.lines) && m.lines.every(isLogLine) && typeof m.truncated === 'boolean' && (m.dropped === undefined || isCount(m.dropped))
        ? (m as unknown as ChildMessage)
        : null;
    case 'result': {
      if (typeof m.executionId !== 'string' || !isNum(m.rssBytes) || typeof m.fatal !== 'boolean') return null;
      if (m.cpuUs !== undefined && !(isNum(m.cpuUs) && m.cpuUs >= 0)) return null;
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
  return (
    e.code === 'FUNCTION_ERROR' &&
    typeof e.message === 'string' &&
    typeof e.name === 'string' &&
    (e.stack === undefined || typeof e.stack === 'string') &&
    (e.detailsJson === undefined || typeof e.detailsJson === 'string')
  );
}

function isLogLine(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return typeof l.ts === 'string' && (l.stream === 'stdout' || l.stream === 'stderr') && typeof l.message === 'string';
}
