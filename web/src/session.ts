/**
 * Where the key lives in the browser: session storage (gone when the tab closes), never a URL,
 * never local storage.
 */
export const STORAGE_KEY = 'taskforge.apiKey';
const KEY_RE = /^tfk_[A-Za-z0-9]{12}_[A-Za-z0-9]{32,}$/;

type KeyStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** Whether `key` has the form of an API key (docs/API.md: `tfk_<id>_<secret>`). */
export const isKeyForm = (key: string): boolean => KEY_RE.test(key.trim());

export function loadKey(store: KeyStore): string | null {
  const k = store.getItem(STORAGE_KEY);
  return k !== null && isKeyForm(k) ? k : null;
}

export function saveKey(store: KeyStore, key: string): void {
  store.setItem(STORAGE_KEY, key.trim());
}

export function clearKey(store: KeyStore): void {
  store.removeItem(STORAGE_KEY);
}
