import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from './signature.js';

const SECRET = 'whsec_test';
const BODY = '{"execution":{"id":"ex_1"}}';

describe('webhook signatures', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>', () => {
    const expected = createHmac('sha256', SECRET).update(`1700000000.${BODY}`).digest('hex');
    expect(signPayload(SECRET, BODY, 1_700_000_000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies with the secret, within the tolerance', () => {
    const h = signPayload(SECRET, BODY, 1_700_000_000);
    expect(verifySignature(SECRET, BODY, h, 1_700_000_100)).toBe(true);
    expect(verifySignature(SECRET, BODY, h, 1_700_000_000 - 300)).toBe(true);
  });

  it('refuses another secret, another body, an old or missing timestamp, a malformed header', () => {
    const h = signPayload(SECRET, BODY, 1_700_000_000);
    expect(verifySignature('whsec_other', BODY, h, 1_700_000_000)).toBe(false);
    expect(verifySignature(SECRET, `${BODY} `, h, 1_700_000_000)).toBe(false);
    expect(verifySignature(SECRET, BODY, h, 1_700_000_301)).toBe(false);
    expect(verifySignature(SECRET, BODY, undefined, 1_700_000_000)).toBe(false);
    expect(verifySignature(SECRET, BODY, h.replace(/^t=\d+,/, ''), 1_700_000_000)).toBe(false);
    expect(verifySignature(SECRET, BODY, 'garbage', 1_700_000_000)).toBe(false);
    expect(verifySignature(SECRET, BODY, 't=1700000000,v1=abc', 1_700_000_000)).toBe(false);
  });

  it('accepts any of several v1 values (a receiver mid secret rotation)', () => {
    const good = signPayload(SECRET, BODY, 1_700_000_000).split(',')[1]!;
    expect(verifySignature(SECRET, BODY, `t=1700000000,v1=${'0'.repeat(64)},${good}`, 1_700_000_000)).toBe(true);
  });
});
