/**
 * The control-plane token digests on PostgreSQL: credentials.json's document, kept as the
 * `scheduler_settings` row `credentials` (the SHA-256 digests of join.token and control.token,
 * never a token). The token files stay in the data dir of the scheduler that made them; another
 * scheduler on the same database reads the digests here and accepts the same tokens without them.
 *
 * The decision (use the stored digests, derive them from token files, or make new tokens) runs
 * in one transaction under STATE_LOCK: two schedulers starting at once on an empty database make
 * one pair of tokens; the second waits, then finds the first one's digests and makes none.
 */
import { parseDigests, digestsText, type CredentialDigests } from '../../credentials.js';
import { STATE_LOCK, type StateDatabase } from './state-db.js';

const ROW = 'credentials';

export function createPostgresDigests(db: StateDatabase): CredentialDigests {
  const where = `the scheduler_settings row '${ROW}'`;
  return {
    where,
    exclusive: (decide) =>
      db.transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...STATE_LOCK]);
        // As text: parsed and checked exactly as credentials.json's text is.
        const { rows } = await client.query<{ value: string }>('SELECT value::text AS value FROM scheduler_settings WHERE name = $1', [ROW]);
        const { store, result } = await decide(rows[0] ? parseDigests(rows[0].value, where) : {});
        if (store) {
          await client.query(
            'INSERT INTO scheduler_settings (name, value) VALUES ($1, $2::json) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()',
            [ROW, digestsText(store)],
          );
        }
        return result;
      }),
  };
}
