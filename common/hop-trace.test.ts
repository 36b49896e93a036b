import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { CHANNEL_NAMES, type HopMessage } from './diagnostics.js';
import { hopTrace } from './hop-trace.js';

describe('hop-trace shim', () => {
  it('publishes hopTrace.mark to the hop channel, like markHop', () => {
    const got: HopMessage[] = [];
    const onMessage = (m: unknown): void => {
      got.push(m as HopMessage);
    };
    diagnostics.subscribe(CHANNEL_NAMES.hop, onMessage);
    try {
      hopTrace.mark('S2 scheduler execute write');
    } finally {
      diagnostics.unsubscribe(CHANNEL_NAMES.hop, onMessage);
    }
    expect(got.map((m) => m.mark)).toEqual(['S2 scheduler execute write']);
  });
});
