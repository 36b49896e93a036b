/**
 * Where the scheduler keeps its records, as `--store` (TASKFORGE_STORE) names it:
 * `file:<dir>` for the JSON-file store in <dir>, `postgres://user@host:port/db` (or
 * `postgresql://`) for the PostgreSQL store. Empty: the file store in --data-dir, as always.
 *
 * It must never put a password into a message or a log line (redact() first).
 */
import { fileURLToPath } from 'node:url';
import { OptionsError } from '../../common/options-error.js';

export type StoreLocation = { kind: 'file'; dir: string } | { kind: 'postgres'; url: string };

const USAGE = 'file:<dir> or postgres://user@host:port/database';

/** The URL with any password replaced by ***, for messages and logs. */
export function redact(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/** The store `text` names; the file store in `dataDir` when it is empty. Throws OptionsError(option) when it names none. */
export function parseStoreUrl(text: string, dataDir: string, option = 'storeUrl'): StoreLocation {
  const refuse = (why: string): OptionsError => new OptionsError(option, `${option === 'storeUrl' ? 'scheduler option storeUrl' : option} ${why}`);
  if (text === '') return { kind: 'file', dir: dataDir };
  if (text.startsWith('file:')) {
    let dir = text.slice('file:'.length);
    if (dir.startsWith('//')) {
      try {
        dir = fileURLToPath(text);
      } catch {
        throw refuse(`is not a usable file URL: '${text}' (use ${USAGE})`);
      }
    }
    if (dir === '') throw refuse(`names no directory: give file:<dir>`);
    return { kind: 'file', dir };
  }
  if (/^postgres(ql)?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw refuse(`is not a valid PostgreSQL URL: '${redact(text)}' (use ${USAGE})`);
    }
    if (url.hostname === '' && !url.searchParams.has('host')) throw refuse(`names no host: '${redact(text)}' (use ${USAGE})`);
    const database = decodeURIComponent(url.pathname.slice(1));
    if (database === '' || database.includes('/')) throw refuse(`names no database: '${redact(text)}' (use ${USAGE})`);
    return { kind: 'postgres', url: text };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
  if (scheme) throw refuse(`has an unknown scheme '${scheme}:' (use ${USAGE})`);
  throw refuse(`must be ${USAGE}, got '${redact(text)}'`);
}
