/**
 * Console output of executions still running, handed to the store once the execution ends.
 * Capped per execution at LIMITS.logLines lines and LIMITS.logBytes bytes, keeping the head and
 * the tail (common/log-window.ts), so the final error is never the line that was dropped.
 * Followers (logs?follow=1) get every line as it arrives.
 */
import { LogWindow } from '../../common/log-window.js';
import { LIMITS, type ExecutionLogs, type LogLine } from '../../common/records.js';

export interface LogCaps {
  logLines: number;
  logBytes: number;
  logLineChars: number;
}

interface Entry {
  window: LogWindow;
  truncated: boolean;
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
      entry = { window: new LogWindow(this.caps.logLines, this.caps.logBytes, true), truncated: false };
      this.entries.set(executionId, entry);
    }
    if (truncated) entry.truncated = true;
    if (dropped > 0) entry.window.gap(dropped);
    const listeners = this.followers.get(executionId);
    for (const raw of lines) {
      const line = raw.message.length > this.caps.logLineChars ? { ...raw, message: raw.message.slice(0, this.caps.logLineChars) } : raw;
      if (line !== raw) entry.truncated = true;
      entry.window.add(line);
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
  const w = e.window;
  return { executionId, lines: [...w.head, ...w.tail], truncated: e.truncated || w.dropped > 0, ...(w.dropped > 0 ? { dropped: w.dropped } : {}) };
}
