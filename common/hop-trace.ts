/**
 * Compatibility shim: hop marks now go through the `taskforge:trace:hop` diagnostics channel
 * (diagnostics.ts, `markHop`), and the trace file is a subscriber (hop-trace-file.ts). This keeps
 * `hopTrace.mark(...)` working for the call sites not yet switched; it is deleted once none is left.
 * It starts nothing at import and writes no file itself.
 */
import { markHop, type HopMark } from './diagnostics.js';

export type { HopMark };

/** @deprecated use `markHop` from diagnostics.ts. */
export const hopTrace: { mark(what: HopMark): void } = Object.freeze({ mark: markHop });
