import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from './loopback.js';

describe('isLoopbackHost', () => {
  it('is 127.0.0.0/8 and ::1 only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '127.255.255.255', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '', 'localhost', '128.0.0.1', '10.127.0.1', '::ffff:127.0.0.1', '127.0.0.1.evil.com', '192.168.0.1']) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });
});
