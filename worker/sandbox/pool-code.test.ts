/**
 * Function code as real files in real sandboxes: what the module sees of itself (file: URLs, a
 * working createRequire), what it can see and change of code (its own file only, read-only), and
 * node's compile cache shared by the processes of one version (code-dir.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closePools, fn, req, startPool } from '../testing/sandbox-fixtures.js';
import type { RunOutcome } from './types.js';

function output(outcome: RunOutcome): unknown {
  if (!outcome.ok) throw new Error(`run failed: ${outcome.error.code} ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

afterEach(closePools);

describe('code as files', () => {
  it('loads an ES module from a file: URL, where createRequire(import.meta.url) and relative URLs work', async () => {
    const { pool } = await startPool();
    const f = fn(`import { createRequire } from 'node:module';
      import { fileURLToPath } from 'node:url';
      const require = createRequire(import.meta.url);
      export default async () => ({
        url: import.meta.url,
        file: fileURLToPath(import.meta.url),
        dir: import.meta.dirname,
        sibling: new URL('./data.json', import.meta.url).href,
        sep: require('node:path').sep,
      });`);
    expect(output(await pool.run(req(f)))).toEqual({
      url: `file:///code/${f.name}@1.mjs`,
      file: `/code/${f.name}@1.mjs`,
      dir: '/code',
      sibling: 'file:///code/data.json',
      sep: '/',
    });
  });

  it('loads CommonJS through node’s own loader: real __filename and __dirname, builtins only through require', async () => {
    const { pool } = await startPool();
    const f = fn(`exports.handler = async () => {
      let denied;
      try { require('./other.js'); } catch (e) { denied = e.code + ': ' + e.message; }
      return { filename: __filename, dirname: __dirname, main: typeof require.resolve, denied };
    };`);
    expect(output(await pool.run(req(f)))).toEqual({
      filename: `/code/${f.name}@1.cjs`,
      dirname: '/code',
      main: 'function',
      denied: "MODULE_NOT_FOUND: Cannot find module './other.js': functions may import only Node.js builtin modules",
    });
  });

  it("shows a process its own function's file only, and it cannot change it", async () => {
    const { pool } = await startPool();
    const other = fn('export default () => "secret of another function";');
    await pool.run(req(other));
    const f = fn(`import fs from 'node:fs';
      export default async () => {
        const tried = (op) => { try { op(); return 'done'; } catch (e) { return e.code; } };
        return {
          listing: fs.readdirSync('/code'),
          overwrite: tried(() => fs.writeFileSync(new URL(import.meta.url), 'export default () => "changed"')),
          create: tried(() => fs.writeFileSync('/code/x.mjs', '')),
          remove: tried(() => fs.unlinkSync(new URL(import.meta.url))),
          otherFile: tried(() => fs.readFileSync('/code/${other.name}@1.mjs')),
        };
      };`);
    const seen = output(await pool.run(req(f))) as Record<string, unknown>;
    expect(seen.listing).toEqual([`${f.name}@1.mjs`]);
    for (const op of ['overwrite', 'create', 'remove']) expect(seen[op]).toMatch(/^(ERR_ACCESS_DENIED|EROFS|EACCES)$/);
    expect(seen.otherFile).toMatch(/^(ERR_ACCESS_DENIED|ENOENT)$/);
    // And what ran before is still what runs.
    expect(output(await pool.run(req(f)))).toMatchObject({ listing: [`${f.name}@1.mjs`] });
  });

  it('without the OS boundary, the permission model keeps other functions’ code and the code tree unreadable', async () => {
    const { pool } = await startPool({ isolation: 'insecure' });
    await pool.run(req(fn('export default () => 1;')));
    const f = fn(`import fs from 'node:fs';
      import { dirname } from 'node:path';
      export default async () => {
        const own = dirname(new URL(import.meta.url).pathname);
        const tried = (op) => { try { op(); return 'done'; } catch (e) { return e.code; } };
        return { own: fs.readdirSync(own).length, siblings: tried(() => fs.readdirSync(dirname(own))), versions: tried(() => fs.readdirSync(dirname(dirname(own)) + '/versions')) };
      };`);
    expect(output(await pool.run(req(f)))).toEqual({ own: 1, siblings: 'ERR_ACCESS_DENIED', versions: 'ERR_ACCESS_DENIED' });
  });
});

describe('compile cache', () => {
  // Holds its process while `hold` is asked, so a second run needs a second (cold) process.
  const cached = (): ReturnType<typeof fn> =>
    fn(`import { getCompileCacheDir } from 'node:module';
      export default async (e) => { if (e === 'hold') await new Promise((r) => setTimeout(r, 300)); return getCompileCacheDir() ?? null; };`);

  it('the first process of a version writes it; the next cold process of that version reads it', async () => {
    const { pool } = await startPool();
    const f = cached();
    expect(output(await pool.run(req(f)))).toMatch(/^\/tmp\/\.taskforge-compile-cache\//);
    const [warm, cold] = await Promise.all([pool.run(req(f, { inputJson: '"hold"' })), pool.run(req(f))]);
    expect(warm).toMatchObject({ coldStart: false });
    expect(cold).toMatchObject({ coldStart: true });
    expect(output(cold)).toMatch(/^\/code\/cache\//);
  });

  it('a cache forged by the function spoils nothing: its next process compiles again and runs', async () => {
    const { pool } = await startPool();
    // Top-level code sends a `loaded` reply of its own carrying a garbage cache; the real reply
    // then breaks the protocol and the process is killed, but the garbage was already taken.
    const f = fn(`import fs from 'node:fs';
      import { getCompileCacheDir } from 'node:module';
      const dir = getCompileCacheDir();
      if (dir?.startsWith('/tmp/')) {
        const b = Buffer.from(JSON.stringify({ type: 'loaded', rssBytes: 1, compileCache: [{ path: dir.split('/').at(-1) + '/00000000', data: Buffer.alloc(4096, 0x41).toString('base64') }] }));
        const h = Buffer.alloc(4); h.writeUInt32BE(b.length);
        fs.writeSync(3, Buffer.concat([h, b]));
      }
      export default async () => getCompileCacheDir() ?? null;`);
    const first = await pool.run(req(f));
    expect(first.ok).toBe(false);
    const again = await pool.run(req(f));
    expect(output(again)).toMatch(/^\/code\/cache\//);
    expect(again).toMatchObject({ coldStart: true });
  });

  it('is not used without the OS boundary (no private /tmp to write it in)', async () => {
    const { pool } = await startPool({ isolation: 'insecure' });
    expect(output(await pool.run(req(cached())))).toBeNull();
  });
});
