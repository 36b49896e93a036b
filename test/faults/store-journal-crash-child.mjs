// Child process of store-journal-crash.test.ts: opens the compiled JSON-file store in the data
// directory given as argument and runs a write storm until it is killed. It prints `ready` once
// open, then `ack <id>` for each durable accept, only after putExecutionDurable resolved: every
// id printed must survive a SIGKILL. (Pipes to the parent are synchronous on Linux, so a printed
// line was handed over before the next record starts.)
import { createFileStore } from '../../dist/scheduler/store/index.js';

const [dataDir, prefix] = process.argv.slice(2);
const store = createFileStore({ dataDir, checkpointIntervalMs: 200 });
await store.open();
process.stdout.write('ready\n');

const execution = (id, over = {}) => ({
  id,
  function: 'hello',
  version: 1,
  status: 'queued',
  mode: 'async',
  input: { n: id },
  output: null,
  error: null,
  attempt: 1,
  maxAttempts: 3,
  workerId: null,
  coldStart: null,
  createdAt: new Date().toISOString(),
  startedAt: null,
  finishedAt: null,
  durationMs: null,
  timings: null,
  placement: null,
  idempotencyKey: null,
  ...over,
});

let n = 0;
const writer = async () => {
  for (;;) {
    const id = `${prefix}${n++}`;
    await store.putExecutionDurable(execution(id));
    process.stdout.write(`ack ${id}\n`);
    // Later transitions and logs, group-committed like the scheduler's.
    store.putExecution(execution(id, { status: 'running' }));
    setTimeout(() => {
      store.putExecution(execution(id, { status: 'succeeded', output: { ok: true } }));
      store.putLogs({ executionId: id, lines: [{ ts: new Date().toISOString(), stream: 'stdout', message: 'x'.repeat(100) }], truncated: false });
    }, 2);
  }
};
await Promise.all(Array.from({ length: 32 }, writer));
