import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../../../common/logger.js';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres.js';
import { createStateAt } from '../select-state.js';
import { stateContract } from '../testing/state-contract.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.close();
});

// The database: "the same storage" is the same database, whatever the data dir.
stateContract('PostgreSQL', async () => {
  const url = await server.createDatabase('state');
  const database = new URL(url).pathname.slice(1);
  return {
    open: (dataDir: string) => createStateAt({ kind: 'postgres', url }, dataDir, silentLogger),
    async keysAtRest() {
      const rows = await server.query<{ text: string }>(
        "SELECT coalesce(string_agg(key::text, E'\\n'), '') || (SELECT coalesce(string_agg(value::text, E'\\n'), '') FROM scheduler_settings) AS text FROM api_keys",
        [],
        database,
      );
      return rows[0]!.text;
    },
    async dispose() {
      await server.query(`DROP DATABASE ${database} WITH (FORCE)`);
    },
  };
});
