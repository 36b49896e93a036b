/**
 * The other end of the machine baseline's process round trip (machine-baseline.ts): echoes every
 * IPC message, and answers 'usage' with its own CPU time so far.
 */
process.on('message', (m: unknown) => {
  process.send?.(m === 'usage' ? { usage: process.cpuUsage() } : m);
});
process.on('disconnect', () => process.exit(0));
