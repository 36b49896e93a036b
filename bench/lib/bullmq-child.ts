/**
 * The peer for scenario 10 (scenarios/bullmq.ts): BullMQ on Redis, as a Node team would set it up
 * instead of TaskForge. `api <redisPort>`: a Fastify endpoint, POST /jobs adds the body as a job and
 * answers 202 once Redis has it (with `appendfsync always`, once it is on disk). `worker <redisPort>
 * <concurrency>`: a BullMQ Worker running the same trivial handler as TaskForge's bench function.
 * Each prints one JSON line when ready.
 */
import Fastify from 'fastify';
import { Queue, Worker } from 'bullmq';

export const BULLMQ_QUEUE = 'bench';

const [mode, portText, concurrencyText] = process.argv.slice(2);
const connection = { host: '127.0.0.1', port: Number(portText), maxRetriesPerRequest: null };

if (mode === 'api') {
  const queue = new Queue(BULLMQ_QUEUE, { connection });
  const app = Fastify({ logger: false });
  app.post('/jobs', async (request, reply) => {
    const job = await queue.add('job', request.body, { removeOnComplete: false, removeOnFail: false });
    return reply.code(202).send({ id: job.id });
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: Number(new URL(address).port) })}\n`);
  process.on(
    'SIGTERM',
    () =>
      void app
        .close()
        .then(() => queue.close())
        .then(() => process.exit(0)),
  );
} else if (mode === 'worker') {
  const worker = new Worker(BULLMQ_QUEUE, async (job) => ({ ok: true, echo: job.data as unknown }), {
    connection,
    concurrency: Number(concurrencyText),
  });
  await worker.waitUntilReady();
  process.stdout.write(`${JSON.stringify({ msg: 'ready' })}\n`);
  process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
} else {
  process.stderr.write('usage: bullmq-child api <redisPort> | worker <redisPort> <concurrency>\n');
  process.exit(2);
}
