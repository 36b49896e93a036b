import { describe, expect, it } from 'vitest';
import { parseChildMessage } from './child-message.js';
import { permissionFlag, runtimeArgs } from './runtime-args.js';

describe('runtime process flags', () => {
  it('uses --experimental-permission before Node 22 and --permission from 22 on', () => {
    expect(permissionFlag('20.20.2')).toBe('--experimental-permission');
    expect(permissionFlag('22.0.0')).toBe('--permission');
    expect(permissionFlag('24.1.0')).toBe('--permission');
  });

  it("grants read access to the runtime's directory only, no inspector, and sets the heap limit", () => {
    const args = runtimeArgs('/opt/tf/runtime.js', 64);
    expect(args).toContain('--max-old-space-size=64');
    expect(args).toContain('--disable-sigusr1');
    expect(args.at(-1)).toBe('/opt/tf/runtime.js');
    expect(args.filter((a) => a.startsWith('--allow-'))).toEqual(['--allow-fs-read=/opt/tf']);
  });

  it('allows writes to /tmp only when the OS boundary made it private', () => {
    expect(runtimeArgs('/opt/tf/runtime.js', 64, { writableTmp: true }).filter((a) => a.startsWith('--allow-'))).toEqual([
      '--allow-fs-read=/opt/tf',
      '--allow-fs-read=/tmp',
      '--allow-fs-write=/tmp',
    ]);
  });
});

describe('parseChildMessage', () => {
  it('accepts every message shape of the protocol', () => {
    const ok = [
      { type: 'ready', rssBytes: 1 },
      { type: 'loaded', rssBytes: 1 },
      { type: 'load-error', error: { code: 'FUNCTION_ERROR', name: 'Error', message: 'x' } },
      { type: 'log', lines: [{ ts: 't', stream: 'stderr', message: 'm' }], truncated: false },
      { type: 'result', executionId: 'e', rssBytes: 1, fatal: false, ok: true, outputJson: '1' },
      { type: 'result', executionId: 'e', rssBytes: 1, fatal: true, ok: false, error: { code: 'FUNCTION_ERROR', name: 'E', message: 'm', stack: 's' } },
      {
        type: 'result',
        executionId: 'e',
        rssBytes: 1,
        fatal: false,
        ok: false,
        error: { code: 'FUNCTION_ERROR', name: 'E', message: 'm', detailsJson: '{"code":"X"}' },
      },
    ];
    for (const m of ok) expect(parseChildMessage(m)).toBe(m);
  });

  it.each([
    ['not an object', 'ready'],
    ['unknown type', { type: 'hello' }],
    ['ready without rss', { type: 'ready' }],
    ['log with a bad stream', { type: 'log', lines: [{ ts: 't', stream: 'fd3', message: 'm' }], truncated: false }],
    ['result without output', { type: 'result', executionId: 'e', rssBytes: 1, fatal: false, ok: true }],
    ['error with another code', { type: 'load-error', error: { code: 'TIMEOUT', name: 'E', message: 'm' } }],
    [
      'error details that are not a string',
      { type: 'result', executionId: 'e', rssBytes: 1, fatal: false, ok: false, error: { code: 'FUNCTION_ERROR', name: 'E', message: 'm', detailsJson: 5 } },
    ],
  ])('rejects %s', (_label, raw) => {
    expect(parseChildMessage(raw)).toBeNull();
  });
});
