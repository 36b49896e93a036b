/**
 * The per-execution log caps (LIMITS.logLines, logBytes, logLineChars), keeping the head and the
 * tail of the output: the first half of the budget is passed on as it is written; after that the
 * latest lines are kept in a window (the other half) and passed on by finish(), when the run
 * ends, with the number of lines that fell out between the two (`dropped`), so the final error
 * is never the line that was lost. The runtime pre-caps the same way to protect the channel, but
 * the child is untrusted, so the pool enforces the caps again here. Order is kept.
 */
import { LogWindow } from '../../common/log-window.js';
import { LIMITS, type LogLine } from '../../common/records.js';

export interface LogCaps {
  logLines: number;
  logBytes: number;
  logLineChars: number;
}

export type LogListener = (lines: LogLine[], truncated: boolean, dropped: number) => void;

export class LogCap {
  truncated = false;
  readonly #window: LogWindow;
  #finished = false;

  constructor(
    private readonly listener: LogListener | undefined,
    private readonly caps: LogCaps = LIMITS,
  ) {
    this.#window = new LogWindow(caps.logLines, caps.logBytes, false);
  }

  /** `droppedUpstream`: lines the runtime already left out before these. */
  accept(lines: readonly LogLine[], truncatedUpstream: boolean, droppedUpstream = 0): void {
    if (this.#finished) return;
    const wasTruncated = this.truncated;
    if (truncatedUpstream) this.truncated = true;
    // Lines after a gap are the tail's, whatever room the head still has.
    if (droppedUpstream > 0) this.#window.gap(droppedUpstream);
    const live: LogLine[] = [];
    for (const raw of lines) {
      let message = raw.message;
      if (message.length > this.caps.logLineChars) {
        message = message.slice(0, this.caps.logLineChars);
        this.truncated = true;
      }
      const line: LogLine = { ts: raw.ts, stream: raw.stream, message };
      if (this.#window.add(line)) live.push(line);
    }
    if (this.#window.dropped > 0) this.truncated = true;
    if (live.length > 0 || this.truncated !== wasTruncated) this.listener?.(live, this.truncated, 0);
  }

  /** The run ended: the window of the latest lines goes out, after everything passed on live. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#window.tail.length === 0 && this.#window.dropped === 0) return;
    this.listener?.(this.#window.takeTail(), this.truncated, this.#window.dropped);
  }
}
