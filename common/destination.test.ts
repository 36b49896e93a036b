import { describe, expect, it } from 'vitest';
import { TaskForgeError } from './errors.js';
import { assertPublicWebhook, isPrivateAddress, normalizeDestination, privateHostReason } from './destination.js';

const detailsOf = (fn: () => unknown): Record<string, unknown> => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TaskForgeError);
    expect((err as TaskForgeError).code).toBe('VALIDATION_ERROR');
    return (err as TaskForgeError).details;
  }
  throw new Error('did not throw');
};

describe('normalizeDestination', () => {
  it('none, a function or a url', () => {
    expect(normalizeDestination('onSuccess', undefined)).toBeNull();
    expect(normalizeDestination('onSuccess', null)).toBeNull();
    expect(normalizeDestination('onSuccess', { function: 'report' }, 'main')).toEqual({ function: 'report' });
    expect(normalizeDestination('onSuccess', { url: 'https://Example.com/hook?a=1' })).toEqual({ url: 'https://example.com/hook?a=1' });
    expect(normalizeDestination('onSuccess', { url: 'http://example.com' })).toEqual({ url: 'http://example.com/' });
  });

  it('refuses everything else with the field and a reason', () => {
    const cases: [unknown, string, string][] = [
      ['https://x.example', 'onSuccess', 'type'],
      [[], 'onSuccess', 'type'],
      [{}, 'onSuccess', 'one_of'],
      [{ function: 'a', url: 'https://x.example' }, 'onSuccess', 'one_of'],
      [{ topic: 'x' }, 'onSuccess.topic', 'unknown_field'],
      [{ function: 'Bad Name' }, 'onSuccess.function', 'pattern'],
      [{ function: 'main' }, 'onSuccess.function', 'self'],
      [{ url: 42 }, 'onSuccess.url', 'type'],
      [{ url: 'nope' }, 'onSuccess.url', 'format'],
      [{ url: 'file:///etc/passwd' }, 'onSuccess.url', 'scheme'],
      [{ url: 'ftp://example.com/' }, 'onSuccess.url', 'scheme'],
      [{ url: 'javascript:alert(1)' }, 'onSuccess.url', 'scheme'],
      [{ url: 'https://user:pw@example.com/' }, 'onSuccess.url', 'credentials'],
      [{ url: `https://example.com/${'a'.repeat(2048)}` }, 'onSuccess.url', 'length'],
    ];
    for (const [raw, field, reason] of cases)
      expect(
        detailsOf(() => normalizeDestination('onSuccess', raw, 'main')),
        JSON.stringify(raw),
      ).toEqual({ field, reason });
  });
});

describe('private addresses', () => {
  it('loopback, private, link-local, shared, multicast and reserved are private; public ones are not', () => {
    for (const a of [
      '127.0.0.1',
      '127.9.9.9',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fc00::1',
      'fd12::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-ip',
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('what the URL says: IP literals and localhost names', () => {
    expect(privateHostReason(new URL('http://127.0.0.1:8080/'))).toMatch(/private or loopback/);
    expect(privateHostReason(new URL('http://[::1]/'))).toMatch(/private or loopback/);
    expect(privateHostReason(new URL('http://0x7f000001/'))).toMatch(/127\.0\.0\.1/);
    expect(privateHostReason(new URL('http://LOCALHOST/'))).toMatch(/loopback/);
    expect(privateHostReason(new URL('http://api.localhost/'))).toMatch(/loopback/);
    expect(privateHostReason(new URL('https://example.com/'))).toBeNull();
    expect(privateHostReason(new URL('https://93.184.215.14/'))).toBeNull();
  });

  it('assertPublicWebhook refuses a private url unless allowed; functions and none pass', () => {
    expect(detailsOf(() => assertPublicWebhook('onFailure', { url: 'http://10.0.0.2/x' }, false))).toEqual({
      field: 'onFailure.url',
      reason: 'private_address',
    });
    expect(() => assertPublicWebhook('onFailure', { url: 'http://10.0.0.2/x' }, true)).not.toThrow();
    expect(() => assertPublicWebhook('onFailure', { function: 'f' }, false)).not.toThrow();
    expect(() => assertPublicWebhook('onFailure', null, false)).not.toThrow();
    expect(() => assertPublicWebhook('onFailure', { url: 'https://example.com/' }, false)).not.toThrow();
  });
});
