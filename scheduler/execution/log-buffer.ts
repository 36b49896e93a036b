/**
 * Console output of executions still running, handed to the store once the execution ends.
 * Capped per execution at LIMITS.logLines lines and LIMITS.logBytes bytes, keeping the head and
 * the tail: the first half of the budget holds the first lines, the second half a rolling window
 * of the latest ones, so the final error is never the line that was dropped. What falls out
 * between them is counted (`dropped`). Followers (logs?follow=1) get every line as it arrives.
 */
import { LIMITS, type ExecutionLogs, type LogLine } from '../../common/records.js';

export interface LogCaps {
  logLines: number;
  logBytes: number;
  logLineChars: number;
}

interface Entry {
  head: LogLine[];
  headBytes: number;
  tail: LogLine[];
  tailBytes: number;
  truncated: boolean;
  dropped: number;
}

export type LineListener = (line: LogLine) => void;

export class LogBuffer {
  private readonly entries = new Map<string, Entry>();
  private readonly followers = new Map<string, Set<LineListener>>();

  constructor(private readonly caps: LogCaps = LIMITS) {}

  /** `dropped`: lines the worker already dropped between head and tail. */
  append(executionId: string, lines: LogLine[], truncated: boolean, dropped = 0): void {
    let entry = this.entries.get(executionId);
    if (!entry) {
      entry = { head: [], headBytes: 0, tail: [], tailBytes: 0, truncated: false, dropped: 0 };
      this.entries.set(executionId, entry);
    }
    if (truncated) entry.truncated = true;
    if (dropped > 0) {
      entry.dropped += dropped;
      entry.truncated = true;
    }
    const listeners = this.followers.get(executionId);
    const headLines = Math.ceil(this.caps.logLines / 2);
    const headBytes = Math.ceil(this.caps.logBytes / 2);
    for (const raw of lines) {
      const line = raw.message.length > this.caps.logLineChars ? { ...raw, message: raw.message.slice(0, this.caps.logLineChars) } : raw;
      if (line !== raw) entry.truncated = true;
      const size = Buffer.byteLength(line.message);
      if (entry.tail.length === 0 && entry.dropped === 0 && entry.head.length < headLines && entry.headBytes + size <= headBytes) {
        entry.head.push(line);
        entry.headBytes += size;
      } else {
        entry.tail.push(line);
        entry.tailBytes += size;
        while (entry.tail.length > this.caps.logLines - entry.head.length || entry.tailBytes > this.caps.logBytes - entry.headBytes) {
          const out = entry.tail.shift()!;
          entry.tailBytes -= Buffer.byteLength(out.message);
          entry.dropped += 1;
          entry.truncated = true;
        }
      }
      if (listeners) for (const l of listeners) l(line);
    }
  }

  get(executionId: string): ExecutionLogs | undefined {
    const e = this.entries.get(executionId);
    return e ? logsOf(executionId, e) : undefined;
  }

  /** Every line appended for `executionId` from now on goes to `listener`; returns the unsubscribe. */
  follow(executionId: string, listener: LineListener): () => void {
    let set = this.followers.get(executionId);
    if (!set) {
      set = new Set();
      this.followers.set(executionId, set);
    }
    set.add(listener);
    return () => {
      const s = this.followers.get(executionId);
      s?.delete(listener);
      if (s?.size === 0) this.followers.delete(executionId);
    };
  }

  /** Removes and returns the logs of an execution that ended. */
  take(executionId: string): ExecutionLogs | undefined {
    const e = this.entries.get(executionId);
    this.entries.delete(executionId);
    return e ? logsOf(executionId, e) : undefined;
  }
}

function logsOf(executionId: string, e: Entry): ExecutionLogs {
  return { executionId, lines: [...e.head, ...e.tail], truncated: e.truncated, ...(e.dropped > 0 ? { dropped: e.dropped } : {}) };
}
