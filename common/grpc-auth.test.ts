import { describe, expect, it } from 'vitest';
import { authMetadata, bearerToken, hostOf, isToken, sslTransport, IP_TARGET_SNI } from './grpc-auth.js';

describe('grpc auth helpers', () => {
  it('puts the token in the authorization header, and reads only "Bearer <token>" back', () => {
    const t = `tfj_${'a'.repeat(43)}`;
    expect(authMetadata(t).get('authorization')).toEqual([`Bearer ${t}`]);
    expect(authMetadata(null).get('authorization')).toEqual([]);
    expect(bearerToken(`Bearer ${t}`)).toBe(t);
    expect(bearerToken(`bearer ${t}`)).toBe(t);
    for (const bad of [`Basic ${t}`, 'Bearer', 'Bearer ', `Bearer ${t} x`, t, 42]) expect(bearerToken(bad)).toBeNull();
  });
  it('accepts tokens of 32-512 printable characters', () => {
    expect(isToken('x'.repeat(32))).toBe(true);
    expect(isToken('x'.repeat(31))).toBe(false);
    expect(isToken('x'.repeat(513))).toBe(false);
    expect(isToken(`${'x'.repeat(32)} y`)).toBe(false);
  });
  it('never sends an IP address as the TLS ServerName', () => {
    expect(hostOf('127.0.0.1:50051')).toBe('127.0.0.1');
    expect(hostOf('[::1]:50051')).toBe('::1');
    expect(hostOf('sched.internal:50051')).toBe('sched.internal');
    const ca = Buffer.from('');
    expect(sslTransport('10.0.0.5:50051', ca).options).toEqual({ 'grpc.ssl_target_name_override': IP_TARGET_SNI });
    expect(sslTransport('sched.internal:50051', ca).options).toEqual({});
  });
});
