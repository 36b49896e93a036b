/**
 * The per-execution log cap that keeps the head and the tail (docs/API-PLATFORM.md "Live views"):
 * of `maxLines` lines and `maxBytes` bytes, the first half holds the first lines; after that the
 * latest lines are kept in a rolling window (the other half), and what falls out between them is
 * counted as `dropped`. Once there is a gap, every later line belongs to the tail. The worker's
 * cap (worker/sandbox/log-cap.ts) and the scheduler's buffer (scheduler/execution/log-buffer.ts)
 * apply it; the sandbox runtime, which may import nothing outside its directory, mirrors it.
 */
import type { LogLine } from './records.js';

export class LogWindow {
  /** Lines kept in the head (only counted unless `keepHead`). */
  readonly head: LogLine[] = [];
  headLines = 0;
  headBytes = 0;
  tail: LogLine[] = [];
  private tailBytes = 0;
  /** Lines that fell out between the head and the tail. */
  dropped = 0;

  constructor(
    private readonly maxLines: number,
    private readonly maxBytes: number,
    /** false: the head's lines go out live and are only counted here. */
    private readonly keepHead: boolean,
  ) {}

  /** Lines left out before the lines that come next (a gap reported upstream). */
  gap(lines: number): void {
    this.dropped += lines;
  }

  /** Adds a line: true when it is in the head, false when it went to the tail window. */
  add(line: LogLine): boolean {
    const bytes = Buffer.byteLength(line.message);
    if (
      this.tail.length === 0 &&
      this.dropped === 0 &&
      this.headLines < Math.ceil(this.maxLines / 2) &&
      this.headBytes + bytes <= Math.ceil(this.maxBytes / 2)
    ) {
      this.headLines += 1;
      this.headBytes += bytes;
      if (this.keepHead) this.head.push(line);
      return true;
    }
    this.tail.push(line);
    this.tailBytes += bytes;
    while (this.tail.length > this.maxLines - this.headLines || this.tailBytes > this.maxBytes - this.headBytes) {
      this.tailBytes -= Buffer.byteLength(this.tail.shift()!.message);
      this.dropped += 1;
    }
    return false;
  }

  /** Removes and returns the tail window. */
  takeTail(): LogLine[] {
    const t = this.tail;
    this.tail = [];
    this.tailBytes = 0;
    return t;
  }
}
