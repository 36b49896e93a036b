/**
 * The ceiling: a bare Fastify app, in its own process, that runs the scenarios' handler in-process
 * on the same route shape as TaskForge's invoke. No sandbox, no scheduler, no disk: the fastest an
 * HTTP-invoked function can be answered on this machine. Prints one JSON line when listening.
 */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { loadTrivialHandler } from './handlers.js';

async function main(): Promise<void> {
  const handler = await loadTrivialHandler();
  const app = Fastify({ logger: false });
  let seq = 0;
  app.post('/v1/functions/:name/invoke', async (request) => {
    const name = (request.params as { name: string }).name;
    return handler(request.body ?? null, { executionId: `ex_${++seq}`, functionName: name, version: 1, attempt: 1 });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ msg: 'ceiling listening', port })}\n`);
  const stop = (): void => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
