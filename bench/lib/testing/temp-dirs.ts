/** Temp dirs for the suite's tests: made on demand, all removed by `cleanup()` (call it in afterEach). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class TempDirs {
  readonly #dirs: string[] = [];

  async dir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tf-bench-test-'));
    this.#dirs.push(dir);
    return dir;
  }

  /** A CommonJS script holding `source`, in a new temp dir: a stand-in for a child the suite forks. */
  async script(source: string): Promise<string> {
    const path = join(await this.dir(), 'child.cjs');
    await writeFile(path, source);
    return path;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.#dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}
