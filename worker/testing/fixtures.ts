/**
 * Small builders and waits shared by the agent tests. Test support only; nothing in the worker
 * imports it.
 */
import type { SchedulerMessage } from '../../proto/gen/taskforge/v1/worker.js';

export function execute(
  executionId: string,
  opts: { lease?: string; name?: string; version?: number; code?: string; input?: string } = {},
): SchedulerMessage['msg'] {
  return {
    $case: 'execute',
    value: {
      executionId,
      lease: opts.lease ?? `l-${executionId}`,
      function: {
        name: opts.name ?? 'hello',
        version: opts.version ?? 1,
        handler: 'default',
        timeoutMs: 5000,
        memoryMb: 128,
        env: { GREETING: 'hi' },
        codeSha256: 'sha',
        code: opts.code ?? 'export default async () => 1',
        format: '',
      },
      inputJson: opts.input ?? '{"x":1}',
      attempt: 1,
      deadlineMs: Date.now() + 5000,
    },
  };
}

export async function waitUntilTrue(probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
