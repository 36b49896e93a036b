/**
 * The SQL that writes records: per table, one multi-row upsert of the records changed and one
 * DELETE of those removed, whatever their number (the records travel as one JSON array parameter,
 * so a commit of a thousand executions is still two statements). Every value is a parameter.
 *
 * The caller passes at most one change per record (the newest): an upsert may not touch a row twice.
 */
import type { PoolClient } from 'pg';

export type RecordTable = 'functions' | 'executions' | 'logs' | 'workflows' | 'runs';

interface TableSql {
  upsert: string;
  delete: string;
}

const upsert = (table: string, pk: string, columns: Record<string, string>): string => {
  const names = Object.keys(columns);
  return (
    `INSERT INTO ${table} (${names.join(', ')}) SELECT ${Object.values(columns).join(', ')} FROM jsonb_array_elements($1::jsonb) AS r ` +
    `ON CONFLICT (${pk}) DO UPDATE SET ${names
      .filter((n) => n !== pk)
      .map((n) => `${n} = EXCLUDED.${n}`)
      .join(', ')}`
  );
};

export const TABLE_SQL: Record<RecordTable, TableSql> = {
  functions: {
    upsert: upsert('functions', 'name', { name: "r->>'name'", versions: "r->'versions'" }),
    delete: 'DELETE FROM functions WHERE name = ANY($1::text[])',
  },
  executions: {
    upsert: upsert('executions', 'id', {
      id: "r->>'id'",
      function: "r->>'function'",
      status: "r->>'status'",
      created_at: "(r->>'createdAt')::timestamptz",
      record: 'r',
    }),
    delete: 'DELETE FROM executions WHERE id = ANY($1::text[])',
  },
  logs: {
    upsert: upsert('execution_logs', 'execution_id', { execution_id: "r->>'executionId'", logs: 'r' }),
    delete: 'DELETE FROM execution_logs WHERE execution_id = ANY($1::text[])',
  },
  workflows: {
    upsert: upsert('workflows', 'name', { name: "r->>'name'", definition: 'r' }),
    delete: 'DELETE FROM workflows WHERE name = ANY($1::text[])',
  },
  runs: {
    upsert: upsert('workflow_runs', 'id', { id: "r->>'id'", workflow: "r->>'workflow'", status: "r->>'status'", run: 'r' }),
    delete: 'DELETE FROM workflow_runs WHERE id = ANY($1::text[])',
  },
};

/** Writes `changes` with `client`, inside the transaction the caller opened. */
export async function writeRecords(client: PoolClient, changes: ReadonlyArray<{ table: RecordTable; key: string; text: string | null }>): Promise<void> {
  for (const table of Object.keys(TABLE_SQL) as RecordTable[]) {
    const mine = changes.filter((c) => c.table === table);
    const puts = mine.filter((c) => c.text !== null).map((c) => c.text!);
    const deletes = mine.filter((c) => c.text === null).map((c) => c.key);
    if (puts.length > 0) await client.query(TABLE_SQL[table].upsert, [`[${puts.join(',')}]`]);
    if (deletes.length > 0) await client.query(TABLE_SQL[table].delete, [deletes]);
  }
}
