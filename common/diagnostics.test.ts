import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHANNEL_NAMES, channels, markHop, type HopMessage } from './diagnostics.js';

describe('diagnostics channels', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('names each channel taskforge:<component>:<event>', () => {
    for (const name of Object.values(CHANNEL_NAMES)) expect(name).toMatch(/^taskforge:[a-z-]+:[a-z-]+$/);
    expect(channels.hop.name).toBe('taskforge:trace:hop');
  });

  it('hands a subscriber every hop mark with its wall-clock time', () => {
    const got: HopMessage[] = [];
    const onMessage = (m: unknown): void => {
      got.push(m as HopMessage);
    };
    diagnostics.subscribe(CHANNEL_NAMES.hop, onMessage);
    try {
      const before = performance.timeOrigin + performance.now();
      markHop('G1 gateway route');
      markHop('S1 scheduler session read');
      const after = performance.timeOrigin + performance.now();
      expect(got.map((m) => m.mark)).toEqual(['G1 gateway route', 'S1 scheduler session read']);
      for (const m of got) {
        expect(m.timeMs).toBeGreaterThanOrEqual(before);
        expect(m.timeMs).toBeLessThanOrEqual(after);
      }
    } finally {
      diagnostics.unsubscribe(CHANNEL_NAMES.hop, onMessage);
    }
  });

  it('builds no message and reads no clock while nobody subscribes', () => {
    expect(channels.hop.hasSubscribers).toBe(false);
    const clock = vi.spyOn(performance, 'now');
    const publish = vi.spyOn(channels.hop, 'publish');
    markHop('W2 worker ipc send');
    expect(clock).not.toHaveBeenCalled();
    expect(publish).not.toHaveBeenCalled();
  });
});
