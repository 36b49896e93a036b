/**
 * The per-execution log caps (LIMITS.logLines, logBytes, logLineChars). The runtime pre-caps
 * to protect the channel, but the child is untrusted, so the pool enforces the caps again here.
 * Lines past a cap are dropped, never reordered; a shortened or dropped line sets `truncated`.
 */
import { LIMITS, type LogLine } from '../../common/records.js';

export interface LogCaps {
  logLines: number;
  logBytes: number;
  logLineChars: number;
}

export type LogListener = (lines: LogLine[], truncated: boolean) => void;

export class LogCap {
  truncated = false;
  #lines = 0;
  #bytes = 0;
  #full = false;

  constructor(
    private readonly listener: LogListener | undefined,
    private readonly caps: LogCaps = LIMITS,
  ) {}

  accept(lines: readonly LogLine[], truncatedUpstream: boolean): void {
    const wasTruncated = this.truncated;
    if (truncatedUpstream) this.truncated = true;
    const kept: LogLine[] = [];
    for (const line of lines) {
      if (this.#full || this.#lines >= this.caps.logLines) {
        this.truncated = true;
        continue;
      }
      let message = line.message;
      if (message.length > this.caps.logLineChars) {
        message = message.slice(0, this.caps.logLineChars);
        this.truncated = true;
      }
      const bytes = Buffer.byteLength(message);
      if (this.#bytes + bytes > this.caps.logBytes) {
        // Keep order: once a line does not fit, nothing after it is kept either.
        this.#full = true;
        this.truncated = true;
        continue;
      }
      this.#lines += 1;
      this.#bytes += bytes;
      kept.push({ ts: line.ts, stream: line.stream, message });
    }
    if (kept.length > 0 || this.truncated !== wasTruncated) this.listener?.(kept, this.truncated);
  }
}
