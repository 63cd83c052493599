import type { Knex } from 'knex';
import type { DialectAdapter, SessionTable } from './dialect-adapter.js';

/** What one batch of the sweep found: the rows it deleted, or that another store held the sweep's lock. */
export type SweepBatchResult = { readonly deleted: number } | { readonly locked: true };

/**
 * Delete one batch of expired rows (at most `limit`). Where the adapter has a sweep lock, the batch runs in a
 * transaction of its own that takes the lock first (never waiting) and deletes only when it got it: the lock then
 * lives exactly as long as that transaction, on the one server connection the transaction runs on, so it holds
 * behind a transaction pooler and nothing is left locked when the store closes. Without one, the batch is the
 * adapter's delete alone (an embedded database's single writer serialises the sweeps anyway).
 */
export async function sweepBatch(
  knex: Knex,
  adapter: DialectAdapter,
  table: SessionTable,
  now: Knex.Value,
  limit: number,
): Promise<SweepBatchResult> {
  const { lockSweep } = adapter;
  if (!lockSweep) return { deleted: await adapter.deleteExpired(knex, table, now, limit) };
  return knex.transaction(async (trx): Promise<SweepBatchResult> => {
    if (!(await lockSweep.call(adapter, trx, table))) return { locked: true };
    if (!adapter.unlockSweep) return { deleted: await adapter.deleteExpired(trx, table, now, limit) };
    let deleted: number;
    try {
      deleted = await adapter.deleteExpired(trx, table, now, limit);
    } catch (error) {
      // Given back even so; an unlock that fails too must not hide the delete's own error.
      await adapter.unlockSweep(trx, table).catch(() => undefined);
      throw error;
    }
    await adapter.unlockSweep(trx, table);
    return { deleted };
  });
}
