// A chained invoke: `webhook` validates a push, then `report` summarises its commits.
//
// This chain runs on the client side, with the TaskForge client (`import … from 'taskforge'`):
// a function cannot invoke another from inside its sandbox, because sandboxes have no network
// at all (docs/SECURITY.md), the gateway included. The idempotency keys make each step safe to
// retry: running the chain again with the same push returns the same executions.
//
// Run: node examples/chain.mjs [push.json]   (URL and key: TASKFORGE_URL, TASKFORGE_API_KEY or ./data/admin.key)
import { readFileSync } from 'node:fs';
import { TaskForgeClient } from 'taskforge';

const apiKey =
  process.env.TASKFORGE_API_KEY ||
  (() => {
    try {
      return readFileSync('data/admin.key', 'utf8').trim();
    } catch {
      return undefined;
    }
  })();
const client = new TaskForgeClient({ url: process.env.TASKFORGE_URL || undefined, apiKey });
const push = JSON.parse(readFileSync(process.argv[2] ?? new URL('./data/push.json', import.meta.url), 'utf8'));
const key = `push-${push.after ?? push.commits?.[0]?.id ?? 'unknown'}`;

const validated = await client.invoke('webhook', push, { mode: 'sync', idempotencyKey: `${key}-webhook` });
if (validated.status !== 'succeeded') {
  console.error(`webhook ${validated.status}: ${validated.error?.message}`);
  process.exit(1);
}
const reported = await client.invoke(
  'report',
  { title: `Commits to ${validated.output.repository}`, rows: validated.output.commits.map((c) => ({ group: c.author, amount: 1 })) },
  { mode: 'sync', idempotencyKey: `${key}-report` },
);
if (reported.status !== 'succeeded') {
  console.error(`report ${reported.status}: ${reported.error?.message}`);
  process.exit(1);
}
console.log(`chain: ${validated.id} → ${reported.id}`);
console.log(reported.output.text);
