/**
 * One process of the CPU-bound scenario's bare baseline (cpu-baseline.ts): loads the CPU-bound
 * handler with the iterations given, says 'ready', and on 'go' calls it back to back for the
 * seconds given, then sends how many calls it completed.
 * Usage (forked): burn-child.js <iterations> <seconds>
 */
import { loadHandler } from './handlers.js';

const [iterations, seconds] = process.argv.slice(2).map(Number);
const handler = await loadHandler(iterations!);

async function burn(): Promise<void> {
  let runs = 0;
  const end = performance.now() + seconds! * 1000;
  while (performance.now() < end) {
    await handler();
    runs++;
  }
  process.send?.({ runs });
}

process.on('message', (m: unknown) => {
  if (m !== 'go') return;
  // A handler that throws ends this process with the error on stderr and exit code 1, as an
  // unhandled rejection would: the parent then rejects, naming the exit, before any report.
  burn().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
process.send?.('ready');
