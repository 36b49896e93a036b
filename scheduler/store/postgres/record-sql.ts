/**
 * The SQL that writes records: per table, one multi-row upsert of the records changed and one
 * DELETE of those removed, whatever their number (each column travels as one array parameter,
 * unnest() makes the rows, so a commit of a thousand executions is still two statements). Every
 * value is a parameter.
 *
 * The record's own columns (id, status, …) come from the caller, not from the JSON: reading a
 * field out of a json value makes PostgreSQL decode the whole text, and it refuses U+0000, which
 * the record may hold and a `json` column keeps as written.
 *
 * The caller passes at most one change per record (the newest): an upsert may not touch a row twice.
 */
import type { PoolClient } from 'pg';

export type RecordTable = 'functions' | 'executions' | 'logs' | 'workflows' | 'runs';

interface TableSql {
  upsert: string;
  delete: string;
}

/** `columns`: the record's own columns, in the order of Change.columns, then the json column. */
const tableSql = (table: string, columns: Array<[name: string, type: string]>): TableSql => {
  const names = columns.map(([n]) => n);
  const pk = names[0]!;
  const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  return {
    upsert:
      `INSERT INTO ${table} (${names.join(', ')}) SELECT * FROM unnest(${arrays}) ` +
      `ON CONFLICT (${pk}) DO UPDATE SET ${names
        .slice(1)
        .map((n) => `${n} = EXCLUDED.${n}`)
        .join(', ')}`,
    delete: `DELETE FROM ${table} WHERE ${pk} = ANY($1::text[])`,
  };
};

export const TABLE_SQL: Record<RecordTable, TableSql> = {
  functions: tableSql('functions', [
    ['name', 'text'],
    ['versions', 'json'],
  ]),
  executions: tableSql('executions', [
    ['id', 'text'],
    ['function', 'text'],
    ['status', 'text'],
    ['created_at', 'timestamptz'],
    ['record', 'json'],
  ]),
  logs: tableSql('execution_logs', [
    ['execution_id', 'text'],
    ['logs', 'json'],
  ]),
  workflows: tableSql('workflows', [
    ['name', 'text'],
    ['definition', 'json'],
  ]),
  runs: tableSql('workflow_runs', [
    ['id', 'text'],
    ['workflow', 'text'],
    ['status', 'text'],
    ['run', 'json'],
  ]),
};

export interface RecordWrite {
  table: RecordTable;
  key: string;
  /** The json column's text, or null to delete the row. */
  text: string | null;
  /** The row's other columns, the key first (TABLE_SQL's order). */
  columns: readonly string[];
}

/** Writes `changes` with `client`, inside the transaction the caller opened. */
export async function writeRecords(client: PoolClient, changes: readonly RecordWrite[]): Promise<void> {
  for (const table of Object.keys(TABLE_SQL) as RecordTable[]) {
    const mine = changes.filter((c) => c.table === table);
    const puts = mine.filter((c) => c.text !== null);
    const deletes = mine.filter((c) => c.text === null).map((c) => c.key);
    if (puts.length > 0) {
      const width = puts[0]!.columns.length;
      const params: string[][] = Array.from({ length: width }, (_, i) => puts.map((c) => c.columns[i]!));
      params.push(puts.map((c) => c.text!));
      await client.query(TABLE_SQL[table].upsert, params);
    }
    if (deletes.length > 0) await client.query(TABLE_SQL[table].delete, [deletes]);
  }
}
