/**
 * TaskForge's diagnostics channels (`node:diagnostics_channel`): what tracing, metrics, the
 * bench tools and tests subscribe to. Channels are named `taskforge:<component>:<event>`.
 * Publishing costs one branch while nobody subscribes: a message is built only after
 * `hasSubscribers` said someone listens. Importing this module starts nothing (no timer, no
 * file); a subscriber such as hop-trace-file.ts is installed by whoever wants one.
 */
import diagnostics from 'node:diagnostics_channel';

/** The points where a sync invoke crosses a process or a queue, in the order it meets them. */
export type HopMark =
  | 'G0 gateway onRequest'
  | 'G1 gateway route'
  | 'G2 gateway session write'
  | 'S1 scheduler session read'
  | 'S2 scheduler execute write'
  | 'W1 worker execute read'
  | 'W2 worker ipc send'
  | 'W3 worker ipc receive'
  | 'W4 worker result write'
  | 'S3 scheduler result read'
  | 'S4 scheduler session reply'
  | 'G3 gateway reply read'
  | 'G4 gateway onResponse';

/** A hop's message: which mark, and when, in wall-clock epoch ms with sub-ms precision. */
export interface HopMessage {
  readonly mark: HopMark;
  /**
   * `performance.timeOrigin + performance.now()`: shared by every process of a host, so marks
   * of different processes can be put in one order.
   */
  readonly timeMs: number;
}

export const CHANNEL_NAMES = Object.freeze({
  hop: 'taskforge:trace:hop',
});

export const channels = Object.freeze({
  /** Every hop mark of every process, published as a HopMessage. */
  hop: diagnostics.channel(CHANNEL_NAMES.hop),
});

/** Publishes a hop mark; builds nothing, reads no clock, when nobody subscribes. */
export function markHop(mark: HopMark): void {
  if (!channels.hop.hasSubscribers) return;
  const message: HopMessage = { mark, timeMs: performance.timeOrigin + performance.now() };
  channels.hop.publish(message);
}
