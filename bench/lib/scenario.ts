/**
 * The contract between run.ts and a scenario: a scenario gets the settings, the same-run ceiling
 * and a progress printer, and returns its numbers, its table rows and notes. It owns its stack
 * and tears it down in `finally`, whatever happens.
 */
import type { FloorShape } from './floor.js';
import type { BenchConfig } from './config.js';
import type { Metric } from './report.js';

export interface CeilingPoint {
  connections: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface Ceiling {
  points: CeilingPoint[];
  /** The design floor (lib/floor.ts) at the same concurrencies, measured with the ceiling. */
  floor?: CeilingPoint[];
  /** The floor's other shapes (lib/floor.ts), at the lowest and highest concurrency only. */
  shapes?: Partial<Record<FloorShape, CeilingPoint[]>>;
}

export interface ScenarioContext {
  cfg: BenchConfig;
  /** null until the ceiling scenario has run (or when it failed). */
  ceiling: Ceiling | null;
  /** Where CPU profiles go when BENCH_PROFILE=1, else null. */
  profileDir: string | null;
  /** A plain function (not a method): scenarios destructure it and pass it on. */
  progress: (message: string) => void;
}

export interface ScenarioOutput {
  numbers: Record<string, unknown>;
  metrics: Metric[];
  notes: string[];
}

export interface Scenario {
  name: string;
  title: string;
  /** Its own limit where the common one (BenchConfig.scenarioTimeoutMs) is too short for it. */
  timeoutMs?: number;
  run(ctx: ScenarioContext): Promise<ScenarioOutput>;
}

/** The point at `connections`, or at the closest measured concurrency. */
function pointAt(points: CeilingPoint[] | undefined, connections: number): CeilingPoint | null {
  if (!points || points.length === 0) return null;
  return points.reduce((best, p) => (Math.abs(p.connections - connections) < Math.abs(best.connections - connections) ? p : best));
}

/** The ceiling at `connections`, or at the closest measured concurrency. */
export const ceilingAt = (ceiling: Ceiling | null, connections: number): CeilingPoint | null => pointAt(ceiling?.points, connections);

/** The design floor at `connections`, or at the closest measured concurrency. */
export const floorAt = (ceiling: Ceiling | null, connections: number): CeilingPoint | null => pointAt(ceiling?.floor, connections);

/** 100 · value / ceiling rps, or NaN without a ceiling. */
export const pctOf = (value: number, base: number | undefined): number => (base ? (100 * value) / base : NaN);
