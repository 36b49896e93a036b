/**
 * Code this tab has seen, by its SHA-256 (the API returns only the latest version's code, so a diff
 * of two older versions needs their code from here). Session storage, bounded.
 */
const PREFIX = 'taskforge.code.';
/** Versions kept; past it, others are dropped to make room. */
export const MAX_CODES = 50;

type Store = Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'>;

export function rememberCode(store: Store, sha256: string, code: string): void {
  try {
    const keys: string[] = [];
    for (let i = 0; i < store.length; i++) {
      const k = store.key(i);
      if (k?.startsWith(PREFIX) && k !== PREFIX + sha256) keys.push(k);
    }
    while (keys.length >= MAX_CODES) store.removeItem(keys.shift()!);
    store.setItem(PREFIX + sha256, code);
  } catch {
    // Storage full or off: the diff then says the code is not available.
  }
}

export const recallCode = (store: Pick<Storage, 'getItem'>, sha256: string): string | null => store.getItem(PREFIX + sha256);
