/**
 * Was an execution on disk when its 202 arrived? Looks where the store puts an accepted
 * execution: its `executions/<id>.json` file, or — when the store keeps a write-ahead journal —
 * an entry in `journal/*.log`. Journal segments are read incrementally (each byte once), so a
 * probe costs microseconds and does not slow the load it is checking.
 *
 * This sees writes that reached the OS, not fsyncs: it proves the write happened before the
 * answer, which a durable accept needs; whether it was synced only a power cut could tell.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';

const ID_IN_JOURNAL = /"id":"([A-Za-z0-9_-]{1,64})"/g;
const CHUNK = 1024 * 1024;

export class DurabilityProbe {
  readonly #executions: string;
  readonly #journal: string;
  readonly #offsets = new Map<string, number>();
  readonly #tails = new Map<string, string>();
  readonly #journaled = new Set<string>();
  readonly #buf = Buffer.allocUnsafe(CHUNK);

  constructor(dataDir: string) {
    this.#executions = join(dataDir, 'executions');
    this.#journal = join(dataDir, 'journal');
  }

  isOnDisk(id: string): boolean {
    if (this.#journaled.has(id) || existsSync(join(this.#executions, `${id}.json`))) return true;
    this.#readJournal();
    return this.#journaled.has(id);
  }

  #readJournal(): void {
    let names: string[];
    try {
      names = readdirSync(this.#journal).filter((n) => n.endsWith('.log'));
    } catch {
      return; // no journal in this store
    }
    for (const name of names) {
      const path = join(this.#journal, name);
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        continue; // checkpointed away meanwhile
      }
      try {
        let offset = this.#offsets.get(name) ?? 0;
        let tail = this.#tails.get(name) ?? '';
        for (;;) {
          const n = readSync(fd, this.#buf, 0, CHUNK, offset);
          if (n === 0) break;
          offset += n;
          const text = tail + this.#buf.toString('utf8', 0, n);
          const cut = text.lastIndexOf('\n') + 1;
          for (const m of text.slice(0, cut).matchAll(ID_IN_JOURNAL)) this.#journaled.add(m[1]!);
          tail = text.slice(cut);
        }
        this.#offsets.set(name, offset);
        this.#tails.set(name, tail);
      } finally {
        closeSync(fd);
      }
    }
  }
}
