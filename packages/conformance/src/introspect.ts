import type { Knex } from 'knex';

/** The keys of a table as the database's catalogue reports them. */
export interface TableKeys {
  /** The primary key's columns, in key order (empty when there is none). */
  primaryKey: string[];
  /** Every other index, each as its columns in key order. */
  indexes: string[][];
}

type KeyRow = { id: unknown; col: unknown; ord: unknown; pk: unknown };

/**
 * Catalogue queries per dialect. This is test code reading each engine's own catalogue: the store under test never
 * sees it. Table names are bound as values, never spliced, so hostile names are safe here too.
 */
const QUERIES: Record<string, string> = {
  sqlite3: `
    select il.name as id, ii.name as col, ii.seqno as ord, il.origin = 'pk' as pk
    from pragma_index_list(?) as il join pragma_index_info(il.name) as ii
    order by il.name, ii.seqno`,
  postgresql: `
    select i.indexrelid::text as id, a.attname as col, k.ord as ord, i.indisprimary as pk
    from pg_index i
    join pg_class c on c.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
    where c.relname = ? and n.nspname = current_schema()
    order by i.indexrelid, k.ord`,
  mysql: `
    select index_name as id, column_name as col, seq_in_index as ord, index_name = 'PRIMARY' as pk
    from information_schema.statistics
    where table_schema = database() and table_name = ?
    order by index_name, seq_in_index`,
  mssql: `
    select i.name as id, c.name as col, ic.key_ordinal as ord, i.is_primary_key as pk
    from sys.indexes i
    join sys.index_columns ic on ic.object_id = i.object_id and ic.index_id = i.index_id
    join sys.columns c on c.object_id = ic.object_id and c.column_id = ic.column_id
    join sys.tables t on t.object_id = i.object_id
    where t.name = ? and t.schema_id = schema_id()
    order by i.name, ic.key_ordinal`,
  oracle: `
    select ic.index_name as "id", ic.column_name as "col", ic.column_position as "ord",
      case when c.constraint_type = 'P' then 1 else 0 end as "pk"
    from user_ind_columns ic
    left join user_constraints c on c.index_name = ic.index_name and c.constraint_type = 'P'
    where ic.table_name = ?
    order by ic.index_name, ic.column_position`,
};

function dialectOf(knex: Knex): string {
  const dialect = String((knex.client as { dialect?: unknown }).dialect ?? '');
  if (dialect === 'mysql2') return 'mysql';
  if (dialect.startsWith('postgres') || dialect === 'pglite' || dialect === 'cockroachdb') return 'postgresql';
  if (dialect === 'better-sqlite3') return 'sqlite3';
  return dialect;
}

function rowsOf(result: unknown): KeyRow[] {
  if (Array.isArray(result)) return (Array.isArray(result[0]) ? result[0] : result) as KeyRow[];
  return ((result as { rows?: KeyRow[] }).rows ?? []) as KeyRow[];
}

function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true' || value === 1n;
}

/** The primary key and indexes of `tableName` (in the connection's default schema). */
export async function tableKeys(knex: Knex, tableName: string): Promise<TableKeys> {
  const dialect = dialectOf(knex);
  const query = QUERIES[dialect];
  if (!query)
    throw new Error(`the conformance suite cannot read the indexes of a ${dialect} database: add it to introspect.ts`);
  const rows = rowsOf(await knex.raw(query, [tableName]));
  const byIndex = new Map<string, { pk: boolean; columns: string[] }>();
  for (const row of rows) {
    const id = String(row.id);
    const entry = byIndex.get(id) ?? { pk: truthy(row.pk), columns: [] };
    entry.columns.push(String(row.col));
    byIndex.set(id, entry);
  }
  let primaryKey: string[] = [];
  if (dialect === 'sqlite3') {
    // A rowid alias (INTEGER PRIMARY KEY) has no index of its own: table_info is the authority on the key.
    const info = rowsOf(
      await knex.raw('select name as col, pk as ord from pragma_table_info(?) where pk > 0 order by pk', [tableName]),
    );
    primaryKey = info.map((row) => String(row.col));
  }
  const indexes: string[][] = [];
  for (const entry of byIndex.values()) {
    if (entry.pk) {
      if (dialect !== 'sqlite3') primaryKey = entry.columns;
    } else {
      indexes.push(entry.columns);
    }
  }
  return { primaryKey, indexes };
}
