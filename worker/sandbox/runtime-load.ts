/**
 * How the runtime (runtime.ts) loads the one function it holds: from its real file in the
 * process's read-only code directory (code-dir.ts), through Node's own ESM or CommonJS loader, with
 * Node's module compile cache when the pool gave one. Runs inside the sandbox: builtins only.
 */
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire, enableCompileCache, flushCompileCache, isBuiltin, registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { CompileCacheEntry, LoadMessage } from './messages.js';

/** What a cache handed back may weigh (the pool's frame cap is 8 MiB; base64 grows it by a third). */
const MAX_CACHE_BYTES = 5 * 1024 * 1024;

const nodeRequire = createRequire(import.meta.url);

/** `require` for ES module bundles: builtins only, since nothing else is readable anyway. */
export function requireBuiltin(id: string): unknown {
  if (typeof id !== 'string' || !isBuiltin(id)) {
    const err = new Error(`Cannot find module '${String(id)}': functions may require only Node.js builtin modules`);
    (err as NodeJS.ErrnoException).code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return nodeRequire(id);
}

/** The function's own file, by path and URL, once a load names it: the one non-builtin allowed. */
let ownFile: { path: string; url: string } | null = null;

/**
 * Every import or require the function makes, static or dynamic, ESM or CommonJS, resolves only
 * Node.js builtins (and data: URLs, which are code, not files): the permission model denies the
 * files anyway; this gives the function the reason instead of ERR_ACCESS_DENIED. The runtime's
 * own imports were resolved before this is registered.
 */
registerHooks({
  resolve(specifier, context, nextResolve) {
    const own = ownFile !== null && (specifier === ownFile.path || specifier === ownFile.url);
    if (!own && !isBuiltin(specifier) && !specifier.startsWith('data:')) {
      const err = new Error(`Cannot find module '${specifier}': functions may import only Node.js builtin modules`);
      // Each loader's own code: require()'s, or import's.
      (err as NodeJS.ErrnoException).code = context.conditions.includes('require') ? 'MODULE_NOT_FOUND' : 'ERR_MODULE_NOT_FOUND';
      throw err;
    }
    return nextResolve(specifier, context);
  },
});

/** Turns on node's compile cache as the pool asked. Never fails a load: a cache is only an optimisation. */
export function startCompileCache(cache: LoadMessage['compileCache']): void {
  if (!cache) return;
  // Read from the environment when the cache is enabled; the function's env replaces it after.
  process.env.NODE_COMPILE_CACHE_READONLY = cache.mode === 'read' ? '1' : '';
  try {
    enableCompileCache({ directory: cache.dir });
  } catch {
    // not enabled: the module compiles as without a cache
  }
  delete process.env.NODE_COMPILE_CACHE_READONLY;
}

/** The cache files written for the load, to hand back; undefined when none (or too large). */
export function collectCompileCache(cache: LoadMessage['compileCache']): CompileCacheEntry[] | undefined {
  if (cache?.mode !== 'write') return undefined;
  try {
    flushCompileCache();
    const entries: CompileCacheEntry[] = [];
    let bytes = 0;
    for (const sub of readdirSync(cache.dir)) {
      const subDir = `${cache.dir}/${sub}`;
      if (!lstatSync(subDir).isDirectory()) continue;
      for (const name of readdirSync(subDir)) {
        const file = `${subDir}/${name}`;
        const stat = lstatSync(file);
        if (!stat.isFile()) continue;
        bytes += stat.size;
        if (bytes > MAX_CACHE_BYTES) return undefined;
        entries.push({ path: `${sub}/${name}`, data: readFileSync(file).toString('base64') });
      }
    }
    return entries.length > 0 ? entries : undefined;
  } catch {
    return undefined;
  } finally {
    rmSync(cache.dir, { recursive: true, force: true });
  }
}

/** Loads the module and finds its handler (not yet checked to be a function). */
export async function loadHandler(msg: LoadMessage): Promise<unknown> {
  const url = pathToFileURL(msg.path).href;
  ownFile = { path: msg.path, url };
  if (msg.format === 'esm') {
    // ES module bundles (esbuild --format=esm) reach builtins through a shim that calls a global
    // `require` when there is one: give them the builtins-only one.
    Object.defineProperty(globalThis, 'require', { value: requireBuiltin, writable: true, configurable: true, enumerable: false });
    const ns = (await import(url)) as Record<string, unknown>;
    // Handler 'default' without a default export falls back to an export named 'handler' (Lambda's name).
    if (msg.handler === 'default' && ns.default === undefined) return ns.handler;
    return ns[msg.handler];
  }
  // Node's CommonJS loader: the module's own `require` resolves builtins only (the hook above),
  // and `import()` inside it goes through the same hook.
  const exported = nodeRequire(msg.path) as Record<string, unknown> | ((...args: unknown[]) => unknown) | null | undefined;
  if (msg.handler === 'default') {
    if (typeof exported === 'function') return exported;
    if (exported == null) return undefined;
    // Same fallback as for ES modules: no default export → `exports.handler`.
    return exported.default ?? (Object.hasOwn(exported, 'handler') ? exported.handler : undefined);
  }
  if (exported == null) return undefined;
  // Object.prototype members (`constructor`, `toString`) are never a handler.
  if (msg.handler in Object.prototype && !Object.hasOwn(exported, msg.handler)) return undefined;
  return (exported as Record<string, unknown>)[msg.handler];
}
