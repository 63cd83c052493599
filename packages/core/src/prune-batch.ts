import type { Knex } from 'knex';
import type { DialectAdapter } from './dialect-adapter.js';
import { rowCount } from './row-count.js';
import type { SessionTable } from './session-table.js';

/** What one batch of the prune found: the rows it deleted, or that another store held the prune's lock. */
export type PruneBatchResult = { readonly deleted: number } | { readonly locked: true };

/**
 * Delete at most `limit` rows whose expiry is at or before `now` (an encoded value, as bound), with the limit where the
 * dialect takes it (see `DialectCapabilities.deleteLimit`); resolves the count deleted.
 */
export async function deleteExpired(
  knex: Knex,
  adapter: DialectAdapter,
  table: SessionTable,
  now: Knex.Value,
  limit: number,
): Promise<number> {
  const expired = table.query(knex).where(table.expiredColumn, '<=', now);
  if (adapter.capabilities.deleteLimit === 'statement') return rowCount(await expired.limit(limit).del());
  const batch = expired.select(table.sidColumn).limit(limit);
  return rowCount(await table.query(knex).whereIn(table.sidColumn, batch).del());
}

/**
 * Delete one batch of expired rows (at most `limit`). Where the adapter has a prune lock, the batch runs in a
 * transaction of its own that takes the lock first (never waiting) and deletes only when it got it: a lock the
 * transaction owns then lives exactly as long as the batch, on the one server connection the transaction runs on, so
 * it holds behind a transaction pooler and nothing is left locked when the store closes; a lock the connection owns
 * is given back before the transaction ends. Without a lock, the batch is the delete alone (an embedded database's
 * single writer serialises the prunes anyway).
 */
export async function pruneBatch(
  knex: Knex,
  adapter: DialectAdapter,
  table: SessionTable,
  now: Knex.Value,
  limit: number,
): Promise<PruneBatchResult> {
  const lock = adapter.pruneLock;
  if (!lock) return { deleted: await deleteExpired(knex, adapter, table, now, limit) };
  return knex.transaction(async (trx): Promise<PruneBatchResult> => {
    if (!(await lock.take(trx, table))) return { locked: true };
    if (!lock.release) return { deleted: await deleteExpired(trx, adapter, table, now, limit) };
    let deleted: number;
    try {
      deleted = await deleteExpired(trx, adapter, table, now, limit);
    } catch (error) {
      // Given back even so; a release that fails too must not hide the delete's own error.
      await lock.release(trx, table).catch(() => undefined);
      throw error;
    }
    await lock.release(trx, table);
    return { deleted };
  });
}
