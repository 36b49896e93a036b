/**
 * The function code the scenarios register. The ceiling server imports exactly the same source,
 * so "same handler" is literal. The CPU-bound handler does a fixed amount of work calibrated on
 * this machine to take `cpuMs` of CPU, rather than spinning on the clock (which would count time
 * spent descheduled as work).
 */
export const TRIVIAL_CODE = 'export default async (event, ctx) => ({ ok: true, echo: event });\n';

/** The event every load run sends. */
export const EVENT_BODY = JSON.stringify({ n: 1 });

/**
 * The CPU-bound handler: `iterations` turns of an arithmetic loop. It also returns the CPU time
 * it used (process.cpuUsage inside the sandbox), so the suite can check the calibration there.
 */
export function cpuCode(iterations: number): string {
  return [
    `const N = ${iterations};`,
    'export default async () => {',
    '  const c0 = process.cpuUsage();',
    '  let x = 0;',
    '  for (let i = 0; i < N; i++) x = (x + Math.sqrt(i * 1.0001)) % 1e9;',
    '  const c = process.cpuUsage(c0);',
    '  return { x, cpuMs: (c.user + c.system) / 1000 };',
    '};',
    '',
  ].join('\n');
}

export type CpuHandler = () => Promise<{ cpuMs: number }>;
export type TrivialHandler = (event: unknown, ctx: Record<string, unknown>) => Promise<unknown>;

/** The default export of a handler's source, imported in this process. */
async function importHandler<T>(source: string): Promise<T> {
  return ((await import(`data:text/javascript,${encodeURIComponent(source)}`)) as { default: T }).default;
}

/** The trivial handler, imported in this process (the ceiling's and the design floor's). */
export const loadTrivialHandler = (): Promise<TrivialHandler> => importHandler(TRIVIAL_CODE);

/** The CPU-bound handler, imported in this process. */
export const loadHandler = (iterations: number): Promise<CpuHandler> => importHandler(cpuCode(iterations));

/** Median CPU ms of `runs` calls, after `warm` calls to let the JIT optimise the loop. */
async function cpuMsOf(handler: CpuHandler, warm: number, runs: number): Promise<number> {
  for (let i = 0; i < warm; i++) await handler();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push((await handler()).cpuMs);
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

/**
 * Iterations that take `targetMs` of CPU here, measured on the handler's exact code (the loop's
 * speed depends on its shape), and the CPU ms the chosen count then takes here.
 */
export async function calibrateBurn(targetMs: number): Promise<{ iterations: number; cpuMs: number }> {
  const probe = 200_000;
  const perIteration = (await cpuMsOf(await loadHandler(probe), 30, 21)) / probe;
  const iterations = Math.round(targetMs / perIteration);
  return { iterations, cpuMs: await cpuMsOf(await loadHandler(iterations), 10, 21) };
}
