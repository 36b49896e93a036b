import { describe, expect, it } from 'vitest';
import { readSse, SseParser } from './sse.js';

const all = (p: SseParser, ...chunks: string[]) => chunks.flatMap((c) => p.push(c));

describe('SseParser', () => {
  it('reads event, data and id fields, and dispatches on a blank line', () => {
    const evs = all(new SseParser(), 'event: execution\nid: 7\ndata: {"id":"ex_1"}\n\n');
    expect(evs).toEqual([{ event: 'execution', data: '{"id":"ex_1"}', id: '7' }]);
  });

  it('joins data lines with LF and defaults the type to message', () => {
    expect(all(new SseParser(), 'data: a\ndata: b\n\n')).toEqual([{ event: 'message', data: 'a\nb', id: null }]);
  });

  it('skips comments such as the server\'s ": ping" and dispatches nothing for them', () => {
    expect(all(new SseParser(), ': ping\n\n: ping\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x', id: null }]);
    const p = new SseParser();
    all(p, ': open\n\n: ping\n\ndata: x\n\n');
    expect(p.comments).toBe(2);
  });

  it('takes CRLF, CR and LF line ends, also when a CRLF is split across chunks', () => {
    const p = new SseParser();
    expect(all(p, 'data: one\r', '\n\r\n', 'data: two\r\rdata: three\n\n')).toEqual([
      { event: 'message', data: 'one', id: null },
      { event: 'message', data: 'two', id: null },
      { event: 'message', data: 'three', id: null },
    ]);
  });

  it('handles a field split anywhere across chunks and drops only one leading space', () => {
    const p = new SseParser();
    expect(all(p, 'ev', 'ent:  spaced\nda', 'ta:no-space\n', '\n')).toEqual([{ event: ' spaced', data: 'no-space', id: null }]);
  });

  it('keeps the last id across events, as Last-Event-ID would send it', () => {
    const p = new SseParser();
    const evs = all(p, 'id: 41\ndata: a\n\ndata: b\n\n');
    expect(evs.map((e) => e.id)).toEqual(['41', '41']);
    expect(p.lastEventId).toBe('41');
  });

  it('delivers an event with a type but no data (event: reset), unlike a browser', () => {
    expect(all(new SseParser(), 'event: reset\nid: 9\n\n')).toEqual([{ event: 'reset', data: '', id: '9' }]);
  });

  it('reports retry and ignores unknown fields and an id with NUL', () => {
    const p = new SseParser();
    expect(all(p, 'retry: 1500\nfoo: bar\nid: a\0b\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x', id: null, retry: 1500 }]);
  });

  it('readSse decodes UTF-8 split across chunks and drops an event cut off at the end', async () => {
    const bytes = new TextEncoder().encode('data: héllo\n\ndata: cut');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(Uint8Array.of(b));
        c.close();
      },
    });
    const out = [];
    for await (const ev of readSse(body)) out.push(ev);
    expect(out).toEqual([{ event: 'message', data: 'héllo', id: null }]);
  });
});
