/**
 * Cluster and key commands: `workers`, `workers pools`, `workers scale N`, `stats`, `keys create|ls|rm`.
 * `keys create` prints the key alone on stdout (it is shown only this once), so
 * `KEY=$(taskforge keys create ci --scope invoke)` keeps it; what it is goes to stderr.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CreateKeyInput, PoolInfo } from '../../client/index.js';
import { KEY_SCOPES, type KeyScope } from '../../common/api-keys.js';
import { printJson, table, when } from '../output.js';
import { action, collect } from './context.js';

export function registerClusterCommands(program: Command): void {
  const workers = program
    .command('workers')
    .description('list the workers: status, capacity, load, warm functions')
    .action(
      action(async (ctx) => {
        const list = await ctx.client.listWorkers({ signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, list);
        const rows = list.workers.map((w) => [
          w.id,
          w.name,
          w.status,
          `${w.inFlight}/${w.capacity}`,
          w.sandbox,
          String(w.completed),
          when(w.lastHeartbeatAt),
          w.warm.join(',') || '-',
        ]);
        ctx.out.stdout(rows.length ? table(['ID', 'NAME', 'STATUS', 'BUSY', 'SANDBOX', 'DONE', 'HEARTBEAT', 'WARM'], rows) : 'no workers');
      }),
    );

  workers
    .command('pools')
    .description('list the worker pools (taskforge pool) connected to the scheduler')
    .action(
      action(async (ctx) => {
        const list = await ctx.client.listPools({ signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, list);
        ctx.out.stdout(list.pools.length ? table(['NAME', 'HOST', 'WORKERS', 'TARGET', 'MIN-MAX', 'AUTOSCALE'], list.pools.map(poolRow)) : 'no pools');
      }),
    );

  workers
    .command('scale')
    .description('set how many workers a pool runs (admin keys only)')
    .argument('<workers>', 'the number of workers', parseCount)
    .option('--pool <name>', 'the pool (default: the only one connected)')
    .action(
      action(async (ctx, count: number, flags: { pool?: string }) => {
        const pool = await ctx.client.scaleWorkers({ workers: count, ...(flags.pool && { pool: flags.pool }) }, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, pool);
        ctx.out.stdout(`pool ${pool.name}: target ${pool.target} workers (${pool.current} running)`);
      }),
    );

  program
    .command('stats')
    .description('count executions by status, the queue depth and workers by status')
    .action(
      action(async (ctx) => {
        const s = await ctx.client.stats({ signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, s);
        const pairs = (o: Record<string, number>): string =>
          Object.entries(o)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ');
        ctx.out.stdout(`executions  ${pairs(s.executions)}\nqueue       ${s.queueDepth}\nworkers     ${pairs(s.workers)}`);
      }),
    );

  const keys = program.command('keys').description('manage API keys (admin keys only)');
  keys
    .command('create')
    .description('create an API key; the key is printed only this once')
    .argument('<name>', 'a name for people (1-100 characters)')
    .addOption(new Option('--scope <scope>', 'a scope (repeatable; default: read)').choices(KEY_SCOPES).argParser(collectScope))
    .option('--function <fn>', 'limit the key to this function (repeatable; default: every function)', collect)
    .action(
      action(async (ctx, name: string, flags: { scope?: KeyScope[]; function?: string[] }) => {
        const input: CreateKeyInput = { name, scopes: flags.scope ?? ['read'], ...(flags.function && { functions: flags.function }) };
        const created = await ctx.client.createKey(input, { signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, created);
        ctx.out.stdout(created.key);
        ctx.out.stderr(`key ${created.id} '${created.name}' (${created.scopes.join(', ')}) created; this is the only time it is shown`);
      }),
    );
  keys
    .command('ls')
    .description('list API keys (never their secrets)')
    .action(
      action(async (ctx) => {
        const list = await ctx.client.listKeys({ signal: ctx.signal });
        if (ctx.out.json) return printJson(ctx.out, list);
        const rows = list.keys.map((k) => [k.id, k.name, k.scopes.join(','), k.functions?.join(',') ?? '*', when(k.createdAt)]);
        ctx.out.stdout(table(['ID', 'NAME', 'SCOPES', 'FUNCTIONS', 'CREATED'], rows));
      }),
    );
  keys
    .command('rm')
    .description('delete an API key (it stops working within 1 s)')
    .argument('<id>', 'key id (the 12 characters after tfk_)')
    .action(
      action(async (ctx, id: string) => {
        await ctx.client.deleteKey(id, { signal: ctx.signal });
        if (!ctx.out.json) ctx.out.stdout(`deleted key ${id}`);
      }),
    );
}

const poolRow = (p: PoolInfo): string[] => [p.name, p.host, String(p.current), String(p.target), `${p.min}-${p.max}`, p.autoscale ? 'on' : 'off'];

function parseCount(value: string): number {
  if (!/^\d{1,5}$/.test(value)) throw new InvalidArgumentError('a whole number of workers (0 or more)');
  return Number(value);
}

function collectScope(value: string, previous: KeyScope[] | undefined): KeyScope[] {
  return [...(previous ?? []), value as KeyScope];
}
