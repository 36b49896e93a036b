/**
 * The framing of the sandbox IPC channel: each message is a 4-byte big-endian length followed by
 * that many bytes of UTF-8 JSON. Both ends use it — the pool to read what a runtime process sends,
 * the runtime to read what the pool sends — so it imports nothing but `node:` builtins (the runtime
 * may read only its own directory).
 *
 * It replaces Node's built-in IPC channel, whose newline-delimited parser buffers without bound:
 * a child writing 64 MiB without a newline crashed the worker. Here every frame is checked against
 * a cap before a byte of it is buffered, and a frame that is too large or not JSON is an error the
 * caller turns into a kill; the decoder never throws past `push`.
 */

export const FRAME_HEADER_BYTES = 4;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Incremental decoder. `push` returns the messages completed by a chunk, or a FrameError once the
 * stream is broken (after which it returns that error for every later chunk: a broken stream
 * cannot be resynchronised).
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = -1; // body length of the frame being read; -1 while reading a header
  #broken: FrameError | null = null;

  constructor(readonly maxFrameBytes: number) {}

  push(chunk: Buffer): unknown[] | FrameError {
    if (this.#broken) return this.#broken;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) return out;
        const length = this.#take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length > this.maxFrameBytes) return this.#break(`frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte cap`);
        this.#need = length;
      }
      if (this.#buffered < this.#need) return out;
      const body = this.#take(this.#need);
      this.#need = -1;
      try {
        out.push(JSON.parse(body.toString('utf8')));
      } catch {
        return this.#break('frame is not JSON');
      }
    }
  }

  #break(why: string): FrameError {
    this.#broken = new FrameError(why);
    this.#chunks = [];
    this.#buffered = 0;
    return this.#broken;
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return head;
  }
}
