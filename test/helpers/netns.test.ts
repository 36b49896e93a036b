/**
 * The lab's own checks: which root-namespace prefixes make a /24 taken, what a failed ip command
 * says, and a host octet out of range (that part needs root, like the multi-host test).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLab, ip, netnsUnavailable, overlaps24, type Lab } from './netns.js';

const base = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0) >>> 0;

describe('overlaps24', () => {
  it.each([
    ['10.213.7.0/24', true],
    ['10.213.7.9', true],
    ['10.213.7.128/25', true],
    ['10.0.0.0/8', true],
    ['0.0.0.0/0', true],
    ['10.213.8.0/24', false],
    ['10.212.0.0/16', false],
    ['192.0.2.0/24', false],
  ])('%s against 10.213.7.0/24: %s', (cidr, expected) => {
    expect(overlaps24(cidr, base('10.213.7.0'))).toBe(expected);
  });
});

describe('ip', () => {
  it('a failed command names itself and what ip printed', async () => {
    await expect(ip('link', 'show', 'dev', 'tf-no-such-link')).rejects.toThrow(/^ip link show dev tf-no-such-link failed: .*tf-no-such-link/);
  });
});

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

describe.skipIf(netnsUnavailable() !== null)('createLab', () => {
  it('refuses a host octet outside 1..250, and close() removes what it made', async () => {
    lab = await createLab();
    await expect(lab.addHost('x', 251)).rejects.toThrow('host octet must be 1..250, got 251');
    await lab.addHost('y', 1);
    const names = async (): Promise<string> => `${await ip('netns', 'list')}\n${await ip('-o', 'link')}`;
    expect(await names()).toContain(`${lab.id}-y`);
    await lab.close();
    expect(await names()).not.toContain(lab.id);
  });
});
