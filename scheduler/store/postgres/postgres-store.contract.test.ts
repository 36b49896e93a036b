import { afterAll, beforeAll } from 'vitest';
import type { Execution } from '../../../common/records.js';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres.js';
import { storeContract } from '../store-contract.js';
import { createPostgresStore } from './postgres-store.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.close();
});

storeContract('PostgreSQL store', async () => {
  const url = await server.createDatabase('contract');
  const database = new URL(url).pathname.slice(1);
  return {
    create: () => createPostgresStore({ url, groupCommitMs: 5 }),
    async committedExecutions() {
      return (await server.query<{ record: Execution }>('SELECT record FROM executions ORDER BY id', [], database)).map((r) => r.record);
    },
    // A deferred trigger refuses every commit that writes an execution, at COMMIT itself.
    async breakCommits() {
      await server.query(
        `CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '58030'; END $$`,
        [],
        database,
      );
      await server.query(
        'CREATE CONSTRAINT TRIGGER refuse AFTER INSERT OR UPDATE ON executions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()',
        [],
        database,
      );
      return async () => {
        await server.query('DROP TRIGGER refuse ON executions', [], database);
      };
    },
    async dispose() {
      await server.query(`DROP DATABASE ${database} WITH (FORCE)`);
    },
  };
});
