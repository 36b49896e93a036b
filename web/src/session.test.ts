import { describe, expect, it } from 'vitest';
import { STORAGE_KEY, clearKey, isKeyForm, loadKey, saveKey } from './session.js';
import { MemoryStorage } from './testing/fakes.js';

const KEY = `tfk_AbCdEf123456_${'s'.repeat(40)}`;

describe('the key in session storage', () => {
  it('is saved trimmed, loaded, and cleared', () => {
    const s = new MemoryStorage();
    saveKey(s, `  ${KEY}\n`);
    expect(s.getItem(STORAGE_KEY)).toBe(KEY);
    expect(loadKey(s)).toBe(KEY);
    clearKey(s);
    expect(loadKey(s)).toBeNull();
  });

  it('is not loaded when what is stored is not a key', () => {
    const s = new MemoryStorage();
    s.setItem(STORAGE_KEY, 'nope');
    expect(loadKey(s)).toBeNull();
  });

  it('has the API key form: tfk_, 12 characters, a secret of 32 or more', () => {
    expect(isKeyForm(KEY)).toBe(true);
    expect(isKeyForm(`tfk_AbCdEf12345_${'s'.repeat(40)}`)).toBe(false);
    expect(isKeyForm(`tfk_AbCdEf123456_${'s'.repeat(31)}`)).toBe(false);
    expect(isKeyForm(`tfk_AbCdEf123456_${'s'.repeat(31)}!`)).toBe(false);
  });
});
