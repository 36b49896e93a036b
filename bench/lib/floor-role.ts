/**
 * FROZEN — the design floor is the yardstick every TaskForge number is read against
 * (docs/PERFORMANCE.md). Changing what it does changes every ratio quoted to it: a commit that
 * changes this file says why in its message, and the numbers quoted to the floor are measured again.
 *
 * The design floor (scenario 1, lib/floor.ts): TaskForge's processes and transports on a sync
 * invoke's path, doing nothing but forwarding — and two other shapes of the same path, measured
 * beside it to say which shape would reach the targets. One script, one role per process:
 * - `scheduler [--http | --durable <dir>]`: a gRPC server; sends each invoke down the stream of
 *   the worker with the fewest in flight (never more than its slots), queues it when every slot
 *   is taken. With `--http` it also takes the invokes over HTTP itself (the gateway inside the
 *   scheduler). With `--durable` it answers `?mode=async` invokes 202 once their journal entry is
 *   on disk and stores each one's completion as the design's store must at least (`durableStore`:
 *   the async floor); without it, an async invoke is forwarded and answered like a sync one;
 * - `worker <port> <sandboxes> [<burn>]`: one gRPC bidi stream to the scheduler, and `sandboxes`
 *   child processes over Node IPC, one invocation each at a time;
 * - `gateway <port>`: Fastify on the invoke route, one gRPC bidi stream to the scheduler that
 *   carries every request, matched to its answer by id;
 * - `single <sandboxes> [<burn>]`: Fastify and `sandboxes` child processes over Node IPC in one
 *   process, no gRPC at all (the fewest processes a sandboxed invoke can cross);
 * - `sandbox [<burn>]` (forked by a worker or by `single`): runs the suite's trivial handler, or,
 *   given `burn`, the CPU-bound scenario's handler with that many iterations (lib/handlers.ts).
 * No validation, no records, no protobuf (each message is one JSON buffer), no disk but the async
 * floor's: what any implementation of a shape pays per invoke on this machine, at least. Every
 * role but `sandbox` prints one JSON line when ready (an HTTP front: `floor http listening` with
 * its port); every role exits when the process it depends on goes.
 */
import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { loadHandler, loadTrivialHandler } from './handlers.js';

interface Invoke {
  id: number;
  input: string;
  /** `?mode=async`: answered 202 once durable (by a scheduler with --durable), run afterwards. */
  async?: boolean;
}
interface Answer {
  id: number;
  out: string;
  /** The HTTP status to answer with; 200 when absent. */
  status?: number;
}

const pass = (b: Buffer): Buffer => b;
const SERVICE: grpc.ServiceDefinition = {
  connect: {
    path: '/taskforge.bench.Floor/Connect',
    requestStream: true,
    responseStream: true,
    requestSerialize: pass,
    requestDeserialize: pass,
    responseSerialize: pass,
    responseDeserialize: pass,
    originalName: 'connect',
  },
};
const Client = grpc.makeGenericClientConstructor(SERVICE, 'Floor');
type Stream = grpc.ClientDuplexStream<Buffer, Buffer>;
/** SERVICE's client, typed: grpc-js types a generic client's methods as `Function`, possibly absent. */
interface FloorClient extends InstanceType<grpc.ServiceClientConstructor> {
  connect(): Stream;
}

const encode = (m: unknown): Buffer => Buffer.from(JSON.stringify(m));
const ready = (msg: string, extra: Record<string, unknown> = {}): void => void process.stdout.write(`${JSON.stringify({ msg, ...extra })}\n`);

function fail(message: string, code: number): never {
  process.stderr.write(`floor: ${message}\n`);
  process.exit(code);
}

/** A stream to the scheduler that says who it is; `onWelcome` once the scheduler has answered. */
function connect<M>(port: number, hello: Record<string, unknown>, onMessage: (m: M) => void, onWelcome: () => void): Stream {
  const stream = (new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as FloorClient).connect();
  let welcomed = false;
  stream.on('data', (b: Buffer) => {
    const m = JSON.parse(b.toString()) as unknown;
    if (welcomed) return onMessage(m as M);
    welcomed = (m as { welcome?: unknown }).welcome === true;
    if (welcomed) onWelcome();
  });
  stream.on('error', (err: Error) => fail(`stream to the scheduler failed: ${err.message}`, 1));
  stream.on('end', () => fail('the scheduler ended the stream', 1));
  stream.write(encode(hello));
  return stream;
}

/**
 * What the design's store must do at least, for `scheduler --durable <dir>`: an async invoke's
 * entry appended to one journal and fdatasynced before it is acknowledged — one write and one
 * fdatasync for every invoke that arrived meanwhile (group commit) — and, once it has run, a
 * completion entry (riding the next commit, waited for by nobody) and its own file
 * `executions/ex_<id>.json`, written to a temp name and renamed, as the store does, with no fsync.
 */
async function durableStore(dir: string): Promise<{ accept: (m: Invoke, ack: () => void) => void; complete: (m: Answer) => void }> {
  let journal: FileHandle;
  try {
    await mkdir(join(dir, 'executions'), { recursive: true });
    journal = await open(join(dir, 'journal.log'), 'a');
  } catch (err) {
    fail(`cannot keep a journal in ${dir}: ${(err as Error).message}`, 1);
  }
  let entries: Buffer[] = [];
  let acks: Array<() => void> = [];
  let committing = false;
  const commit = async (): Promise<void> => {
    if (committing || entries.length === 0) return;
    committing = true;
    const [batch, waiting] = [Buffer.concat(entries), acks];
    [entries, acks] = [[], []];
    try {
      await journal.write(batch);
      await journal.datasync();
    } catch (err) {
      fail(`journal write failed: ${(err as Error).message}`, 1);
    }
    committing = false;
    for (const ack of waiting) ack();
    void commit();
  };
  let files: Array<{ name: string; text: string }> = [];
  const writeFiles = (): void => {
    const batch = files;
    files = [];
    for (const { name, text } of batch) {
      const tmp = join(dir, 'executions', `.${name}.tmp`);
      try {
        writeFileSync(tmp, text);
        renameSync(tmp, join(dir, 'executions', name));
      } catch (err) {
        fail(`execution file write failed: ${(err as Error).message}`, 1);
      }
    }
  };
  return {
    accept(m, ack) {
      entries.push(Buffer.from(`${JSON.stringify({ id: m.id, status: 'queued', input: m.input, at: Date.now() })}\n`));
      acks.push(ack);
      void commit();
    },
    complete(m) {
      const text = `${JSON.stringify({ id: `ex_${m.id}`, status: 'succeeded', output: m.out, finishedAt: Date.now() })}\n`;
      entries.push(Buffer.from(text));
      void commit();
      if (files.push({ name: `ex_${m.id}.json`, text }) === 1) setImmediate(writeFiles);
    },
  };
}

async function scheduler(http: boolean, durableDir: string | null): Promise<void> {
  interface Worker {
    call: grpc.ServerDuplexStream<Buffer, Buffer>;
    inFlight: number;
    slots: number;
  }
  const workers: Worker[] = [];
  const queue: Buffer[] = [];
  let gateway: grpc.ServerDuplexStream<Buffer, Buffer> | null = null;
  const store = durableDir ? await durableStore(durableDir) : null;
  /** Ids of the async invokes under way: their answers go to the store, not to the gateway. */
  const asyncIds = new Set<number>();
  // With --http, invokes arrive here over HTTP and answers are parsed here for their ids.
  const front = http
    ? httpFront((m) => {
        queue.push(encode(m));
        pump();
      })
    : null;
  const pump = (): void => {
    while (queue.length > 0) {
      let best: Worker | null = null;
      for (const w of workers) if (w.inFlight < w.slots && (!best || w.inFlight < best.inFlight)) best = w;
      if (!best) return;
      best.inFlight++;
      best.call.write(queue.shift()!);
    }
  };
  const fromGateway = (b: Buffer): void => {
    const m = store ? (JSON.parse(b.toString()) as Invoke) : null;
    if (!m?.async) {
      queue.push(b); // forwarded as it came: the worker and the gateway read the id
      return pump();
    }
    asyncIds.add(m.id);
    store!.accept(m, () => {
      gateway?.write(encode({ id: m.id, status: 202, out: JSON.stringify({ executionId: `ex_${m.id}` }) } satisfies Answer));
      queue.push(b);
      pump();
    });
  };
  const fromWorker = (b: Buffer): void => {
    const m = store || front ? (JSON.parse(b.toString()) as Answer) : null;
    if (m && asyncIds.delete(m.id)) store!.complete(m);
    else if (front) front.answer(m!);
    else gateway?.write(b);
    pump();
  };
  const server = new grpc.Server();
  server.addService(SERVICE, {
    connect(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      let worker: Worker | null = null;
      let isGateway = false;
      call.on('data', (b: Buffer) => {
        if (isGateway) fromGateway(b);
        else if (worker) {
          worker.inFlight--;
          fromWorker(b);
        } else {
          const hello = JSON.parse(b.toString()) as { role?: string; slots?: number };
          if (hello.role === 'worker') workers.push((worker = { call, inFlight: 0, slots: hello.slots ?? 1 }));
          else if (hello.role === 'gateway') [isGateway, gateway] = [true, call];
          call.write(encode({ welcome: true }));
        }
      });
      call.on('error', () => undefined); // a peer that goes away: the floor is being stopped
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) fail(`scheduler could not listen: ${err.message}`, 1);
    ready('floor scheduler listening', { port });
    front?.listen();
  });
}

/** Fastify on the invoke route: each request is submitted with an id and answered by `answer`. */
function httpFront(submit: (m: Invoke) => void): { answer: (m: Answer) => void; listen: () => void } {
  const waiting = new Map<number, (m: Answer) => void>();
  let seq = 0;
  const app = Fastify({ logger: false });
  app.post('/v1/functions/:name/invoke', (request, reply) => {
    const id = ++seq;
    waiting.set(
      id,
      (m) =>
        void reply
          .code(m.status ?? 200)
          .type('application/json')
          .send(m.out),
    );
    const async = (request.query as { mode?: string }).mode === 'async';
    submit({ id, input: JSON.stringify(request.body ?? null), ...(async ? { async } : {}) });
    return reply;
  });
  return {
    answer(m) {
      const answer = waiting.get(m.id);
      waiting.delete(m.id);
      answer?.(m);
    },
    listen: () =>
      void app.listen({ port: 0, host: '127.0.0.1' }).then(() => ready('floor http listening', { port: (app.server.address() as AddressInfo).port })),
  };
}

/**
 * `n` sandbox processes over Node IPC, one invocation each at a time, the rest queued here.
 * Returns the submit function; `onReady` once every sandbox has said it is ready. On SIGTERM the
 * sandboxes are reaped before this process exits, so that their CPU time is counted in the
 * bench's process tree; a sandbox that dies otherwise takes this process down (exit 1).
 */
function sandboxes(n: number, burn: number | undefined, onAnswer: (m: Answer) => void, onReady: () => void): (m: Invoke) => void {
  const idle: ReturnType<typeof fork>[] = [];
  const queue: Invoke[] = [];
  const children: ReturnType<typeof fork>[] = [];
  let started = 0;
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
    let left = children.length;
    for (const c of children) {
      c.once('exit', () => --left === 0 && process.exit(0));
      c.kill();
    }
  });
  for (let i = 0; i < n; i++) {
    const child = fork(new URL(import.meta.url), ['sandbox', ...(burn ? [String(burn)] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    child.on('exit', (code, signal) => stopping || fail(`a sandbox exited (${code ?? signal})`, 1));
    child.on('message', (m: Answer | { ready: true }) => {
      if ('ready' in m) {
        idle.push(child);
        if (++started === n) onReady();
        return;
      }
      onAnswer(m);
      const next = queue.shift();
      if (next) child.send(next);
      else idle.push(child);
    });
  }
  return (m) => {
    const child = idle.pop();
    if (child) child.send(m);
    else queue.push(m);
  };
}

function worker(port: number, n: number, burn: number | undefined): void {
  let welcomed = false;
  let started = false;
  const maybeReady = (): void => {
    if (welcomed && started) ready('floor worker ready');
  };
  const submit = sandboxes(
    n,
    burn,
    (m) => stream.write(encode(m)),
    () => {
      started = true;
      maybeReady();
    },
  );
  const stream = connect<Invoke>(port, { role: 'worker', slots: n }, submit, () => {
    welcomed = true;
    maybeReady();
  });
}

async function sandbox(burn: number | undefined): Promise<void> {
  const handler: (event: unknown, ctx: Record<string, unknown>) => Promise<unknown> = burn ? await loadHandler(burn) : await loadTrivialHandler();
  process.on('message', (m: Invoke) => {
    void handler(JSON.parse(m.input), { executionId: `ex_${m.id}` }).then((out) => process.send!({ id: m.id, out: JSON.stringify(out) }));
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true });
}

function gateway(port: number): void {
  const front = httpFront((m) => stream.write(encode(m)));
  const stream = connect<Answer>(port, { role: 'gateway' }, front.answer, front.listen);
}

function single(n: number, burn: number | undefined): void {
  let submit: (m: Invoke) => void = () => undefined;
  const front = httpFront((m) => submit(m));
  submit = sandboxes(n, burn, front.answer, front.listen);
}

const USAGE = 'usage: floor-role.js scheduler [--http | --durable <dir>] | worker <port> <sandboxes> [<burn>] | gateway <port> | single <sandboxes> [<burn>]';
const [role, ...args] = process.argv.slice(2);
const int = (s: string | undefined): number => (s !== undefined && /^[1-9]\d*$/.test(s) ? Number(s) : fail(USAGE, 2));
/** The optional last argument: burn iterations, when given. */
const burnAt = (i: number): number | undefined => (args.length > i + 1 ? fail(USAGE, 2) : args.length === i + 1 ? int(args[i]) : undefined);
if (role === 'scheduler' && args.length === 0) void scheduler(false, null);
else if (role === 'scheduler' && args.length === 1 && args[0] === '--http') void scheduler(true, null);
else if (role === 'scheduler' && args.length === 2 && args[0] === '--durable' && args[1]) void scheduler(false, args[1]);
else if (role === 'worker') worker(int(args[0]), int(args[1]), burnAt(2));
else if (role === 'gateway' && args.length === 1) gateway(int(args[0]));
else if (role === 'single') single(int(args[0]), burnAt(1));
else if (role === 'sandbox') void sandbox(burnAt(0));
else fail(USAGE, 2);
