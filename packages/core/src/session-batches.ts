import type { Knex } from 'knex';
import type { BatchedStatements } from './batched-statements.js';
import type { Retry } from './retry.js';
import type { SessionStatements, StoredRead } from './session-statements.js';
import type { SessionRow } from './session-table.js';
import type { StoredExpiry } from './stored-expiry.js';
import { TurnBatch } from './turn-batch.js';

const NOT_FOUND: StoredRead = Object.freeze({ found: false });

/** The `coalesce` option's batches: the calls of one event-loop turn on stored sids, each kind sent together. */
export interface SessionBatches {
  readonly reads: TurnBatch<undefined, StoredRead>;
  /** Resolves 1 when the touch moved its row's expiry, else 0. */
  readonly touches: TurnBatch<Knex.Value, number>;
  /** Only where the adapter has `upsertMany`. */
  readonly writes: TurnBatch<SessionRow, void> | undefined;
}

/**
 * The batches of a store, on its knex. Every statement runs through `retry`; "now" is taken when a batch leaves, so
 * that a session that expired while it waited is neither read nor revived.
 */
export function sessionBatches(
  statements: SessionStatements,
  batched: BatchedStatements,
  knex: Knex,
  expiry: StoredExpiry,
  retry: Retry,
): SessionBatches {
  const now = (): Knex.Value => expiry.encode(Date.now());
  const reads = new TurnBatch<undefined, StoredRead>({
    one: (sid) => retry(() => statements.get(knex, sid, now())),
    many: async (sids) => {
      const found = await retry(() => batched.getMany(knex, [...sids.keys()], now()));
      return (sid) => found.get(sid) ?? NOT_FOUND;
    },
  });
  const touches = new TurnBatch<Knex.Value, number>({
    one: (sid, expired) => retry(() => statements.touch(knex, sid, expired, now())),
    many: async (batch) => {
      const changed = await retry(() => batched.touchMany(knex, batch, now()));
      // One count for the batch: each touch learns that it moved its row only when every row moved.
      return () => (changed >= batch.size ? 1 : 0);
    },
  });
  const writes = batched.upsertsMany
    ? new TurnBatch<SessionRow, void>({
        one: (_sid, row) => retry(() => statements.upsert(knex, row)),
        many: async (rows) => {
          const failed = new Map<string, unknown>();
          await Promise.all(
            batched.chunks([...rows.values()]).map(async (chunk) => {
              try {
                await retry(() => batched.upsertMany(knex, chunk));
              } catch {
                // One row the database refuses (a value too long for its column) fails its whole chunk, which then
                // rolled back: each of its rows is sent alone, so that only that row's set fails, with its own error.
                await Promise.all(
                  chunk.map((row) => retry(() => statements.upsert(knex, row)).catch((error: unknown) => failed.set(row.sid, error))),
                );
              }
            }),
          );
          return (sid) => {
            if (failed.has(sid)) throw failed.get(sid);
          };
        },
      })
    : undefined;
  return { reads, touches, writes };
}
