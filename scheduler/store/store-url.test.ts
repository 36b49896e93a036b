import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../common/options-error.js';
import { parseStoreUrl, redact } from './store-url.js';

describe('--store', () => {
  it('empty means the file store in the data dir', () => {
    expect(parseStoreUrl('', './data')).toEqual({ kind: 'file', dir: './data' });
  });

  it('file:<dir> and file:///abs name a file store there', () => {
    expect(parseStoreUrl('file:records', './data')).toEqual({ kind: 'file', dir: 'records' });
    expect(parseStoreUrl('file:///srv/taskforge', './data')).toEqual({ kind: 'file', dir: '/srv/taskforge' });
  });

  it('postgres:// and postgresql:// name the PostgreSQL store', () => {
    expect(parseStoreUrl('postgres://tf@db.internal:5432/taskforge', './data')).toEqual({ kind: 'postgres', url: 'postgres://tf@db.internal:5432/taskforge' });
    expect(parseStoreUrl('postgresql://tf@127.0.0.1/tf?sslmode=require', './data').kind).toBe('postgres');
  });

  it.each([
    ['mysql://x@h/db', /unknown scheme 'mysql:'/],
    ['file:', /names no directory/],
    ['file://host/x', /not a usable file URL/],
    ['postgres://tf@[bad/db', /not a valid PostgreSQL URL/],
    ['postgres:///db', /names no host/],
    ['postgres://tf@h:5432', /names no database/],
    ['postgres://tf@h:5432/a/b', /names no database/],
    ['just-a-dir', /must be file:<dir> or postgres:\/\/user@host:port\/database, got 'just-a-dir'/],
  ])('refuses %s with an OptionsError saying why', (text, message) => {
    expect(() => parseStoreUrl(text, './data', '--store')).toThrow(OptionsError);
    expect(() => parseStoreUrl(text, './data', '--store')).toThrow(expect.objectContaining({ option: '--store' }));
    expect(() => parseStoreUrl(text, './data', '--store')).toThrow(message);
  });

  it('never repeats a password', () => {
    expect(redact('postgres://tf:s3cret@h/db')).toBe('postgres://tf:***@h/db');
    expect(() => parseStoreUrl('postgres://tf:s3cret@h:5432', './data')).toThrow(/tf:\*\*\*@h:5432/);
    expect(() => parseStoreUrl('postgres://tf:s3cret@h:5432', './data')).not.toThrow(/s3cret/);
  });
});
