/**
 * How a pool passes its workers' log lines on: each JSON line gets the field `poolWorker` with the
 * worker's name in front, so a log collector (or `taskforge dev`) can tell the workers apart even
 * in lines that do not name one. A line that is not a JSON object passes unchanged.
 */
export const POOL_WORKER_FIELD = 'poolWorker';

export function tagWorkerLine(line: string, worker: string): string {
  if (!line.startsWith('{') || line.length < 2) return line;
  const rest = line.slice(1).trimStart();
  return `{"${POOL_WORKER_FIELD}":${JSON.stringify(worker)}${rest.startsWith('}') ? '' : ','}${rest}`;
}

export function writeWorkerLine(line: string, worker: string): void {
  process.stdout.write(`${tagWorkerLine(line, worker)}\n`);
}
