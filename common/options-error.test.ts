import { describe, expect, it } from 'vitest';
import { OPTIONS_ERROR_CODE, OptionsError, isOptionsError } from './options-error.js';

describe('OptionsError', () => {
  it('pins its code, and carries the option, the message and the cause', () => {
    const cause = new Error('underneath');
    const err = new OptionsError('invokeBodyLimit', 'gateway option invokeBodyLimit must be a positive integer, got 0', { cause });
    expect(OPTIONS_ERROR_CODE).toBe('ERR_TASKFORGE_OPTION');
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'OptionsError', code: 'ERR_TASKFORGE_OPTION', option: 'invokeBodyLimit', cause });
    expect(err.message).toBe('gateway option invokeBodyLimit must be a positive integer, got 0');
    expect(err.stack).toContain('OptionsError');
  });

  it('is recognised by class or by code, and nothing else is', () => {
    expect(isOptionsError(new OptionsError('port', 'bad port'))).toBe(true);
    expect(isOptionsError(Object.assign(new Error('from another copy'), { code: 'ERR_TASKFORGE_OPTION' }))).toBe(true);
    expect(isOptionsError(new TypeError('port'))).toBe(false);
    expect(isOptionsError(null)).toBe(false);
  });
});
