/**
 * Console output of executions still running, capped per execution (LIMITS.logLines lines,
 * LIMITS.logBytes bytes). Handed to the store once the execution ends.
 */
import { LIMITS, type ExecutionLogs, type LogLine } from '../../common/records.js';

interface Entry {
  logs: ExecutionLogs;
  bytes: number;
}

export class LogBuffer {
  private readonly entries = new Map<string, Entry>();

  append(executionId: string, lines: LogLine[], truncated: boolean): void {
    let entry = this.entries.get(executionId);
    if (!entry) {
      entry = { logs: { executionId, lines: [], truncated: false }, bytes: 0 };
      this.entries.set(executionId, entry);
    }
    if (truncated) entry.logs.truncated = true;
    for (const line of lines) {
      const message = line.message.length > LIMITS.logLineChars ? line.message.slice(0, LIMITS.logLineChars) : line.message;
      const size = Buffer.byteLength(message);
      if (entry.logs.lines.length >= LIMITS.logLines || entry.bytes + size > LIMITS.logBytes) {
        entry.logs.truncated = true;
        break;
      }
      entry.bytes += size;
      entry.logs.lines.push(message === line.message ? line : { ...line, message });
    }
  }

  get(executionId: string): ExecutionLogs | undefined {
    return this.entries.get(executionId)?.logs;
  }

  /** Removes and returns the logs of an execution that ended. */
  take(executionId: string): ExecutionLogs | undefined {
    const e = this.entries.get(executionId);
    this.entries.delete(executionId);
    return e?.logs;
  }
}
