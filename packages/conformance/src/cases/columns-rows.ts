// How the column cases read a table behind the store's back: a row of one sid, and the sids of every row.
import type { Scope } from '../scope.js';

/** A table's row of `sid`, every column as the driver returns it. */
export async function rawRow(scope: Scope, sid: string, tableName?: string, sidColumn = scope.sidColumn) {
  return (await scope.table(tableName).where(sidColumn, sid).first()) as Record<string, unknown> | undefined;
}

/** The sids of every row of a table, sorted. */
export async function rawSids(scope: Scope, tableName?: string, sidColumn = scope.sidColumn): Promise<string[]> {
  return ((await scope.table(tableName).pluck(sidColumn)) as unknown[]).map(String).sort();
}
