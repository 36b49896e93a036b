/**
 * The file writer's thread: the program a worker thread of file-batch.ts runs. It takes batches
 * of whole-file writes and replaces each file atomically (temp file, rename; no fsync: the
 * journal holds the record), one outcome per file, a failed file never failing the others and
 * never leaving its temp file behind (atomic-write.ts states the same contract).
 *
 * It is started from its file, never imported: it runs as soon as it is loaded. From dist/ the
 * compiled writer-thread.js runs; from sources (the tests) this file runs under Node's own type
 * stripping, so it must stay erasable TypeScript (no enums, namespaces, parameter properties)
 * and import Node built-ins only: a relative import would name a `.js` file that does not exist
 * beside the sources. What it needs from the store (the temp file names) comes in workerData.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

/** Given to the thread at start: how writeFileAtomic names its temp files, so start-up sweeps these too. */
export interface WriterThreadData {
  tempPrefix: string;
  tempSuffix: string;
}

/** One batch, as posted to the thread. */
export interface WriteRequest {
  id: number;
  writes: { path: string; data: string }[];
}

/** The thread's answer to a batch: per write, in order, null when written, else the error. */
export interface WriteReply {
  id: number;
  errors: ({ code: string; message: string } | null)[];
}

const port = parentPort;
if (!port) throw new Error('writer-thread runs only as a worker thread (file-batch.ts starts it)');
const { tempPrefix, tempSuffix } = workerData as WriterThreadData;

function writeOne(target: string, data: string): WriteReply['errors'][number] {
  const tmp = join(dirname(target), `${tempPrefix}${basename(target)}.${randomBytes(6).toString('hex')}${tempSuffix}`);
  let fd = -1;
  let created = false;
  try {
    // 'wx': a name collision with another writer must fail, not interleave two writes.
    fd = openSync(tmp, 'wx');
    created = true;
    writeFileSync(fd, data);
    const f = fd;
    fd = -1;
    closeSync(f);
    renameSync(tmp, target);
    return null;
  } catch (err) {
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        // already failing: the write's own error is the one to report
      }
    }
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // start-up sweeps temp files that could not be removed here
      }
    }
    const code = (err as { code?: unknown } | null)?.code;
    return { code: typeof code === 'string' ? code : 'EUNKNOWN', message: String((err as Error | null)?.message) };
  }
}

port.on('message', ({ id, writes }: WriteRequest) => {
  const reply: WriteReply = { id, errors: writes.map((w) => writeOne(w.path, w.data)) };
  port.postMessage(reply);
});
