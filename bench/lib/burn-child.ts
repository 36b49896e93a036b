/**
 * One process of the CPU-bound scenario's bare baseline (cpu-baseline.ts): loads the CPU-bound
 * handler with the iterations given, says 'ready', and on 'go' calls it back to back for the
 * seconds given, then sends how many calls it completed.
 * Usage (forked): burn-child.js <iterations> <seconds>
 */
import { loadHandler } from './handlers.js';

const [iterations, seconds] = process.argv.slice(2).map(Number);
const handler = await loadHandler(iterations!);
process.on('message', async (m: unknown) => {
  if (m !== 'go') return;
  let runs = 0;
  const end = performance.now() + seconds! * 1000;
  while (performance.now() < end) {
    await handler();
    runs++;
  }
  process.send?.({ runs });
});
process.on('disconnect', () => process.exit(0));
process.send?.('ready');
