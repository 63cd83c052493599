import type { Knex } from 'knex';
import type { BulkStatements } from './bulk-statements.js';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionTable } from './session-table.js';
import { StoreClosedError } from './errors.js';
import type { OperationRunner } from './operation-runner.js';
import type { ResolvedOptions } from './options.js';
import { lostConflict } from './retry.js';
import type { StoredExpiry } from './stored-expiry.js';
import type { PruneEvent, PruneProgressEvent } from './store-events.js';
import { PRUNE_BATCH_SIZE } from './base-adapter.js';
import { pruneBatch } from './prune-batch.js';
import { checkSecondReading, measureShare, shareError } from './prune-guard.js';

/** The longest rest between two batches of the prune, so that one slow batch cannot hold `close()` up for long. */
const MAX_PRUNE_REST_MS = 1000;

/** The options a {@link Pruner} reads. */
export type PrunerOptions = Pick<
  ResolvedOptions,
  'cleanupInterval' | 'pruneMaxShare' | 'onCorruptSession' | 'onDbCleanupError'
>;

/** What a {@link Pruner} needs from its store. */
export interface PrunerParts {
  readonly adapter: DialectAdapter;
  readonly table: SessionTable;
  readonly expiry: StoredExpiry;
  readonly bulk: BulkStatements;
  /** Runs the prune as one of the store's operations, and tells when the store is closing. */
  readonly runner: OperationRunner;
  /** Emit an event on the store (on a later tick). */
  readonly emit: (event: 'prune' | 'prune-progress', payload: PruneEvent | PruneProgressEvent) => void;
}

/**
 * Deletes expired rows: on request (`prune`, which a call during a running prune joins) and in the background every
 * `interval` ms or so, in batches, each under the adapter's prune lock where it has one, after the prune guard.
 */
export class Pruner {
  readonly #options: PrunerOptions;
  readonly #parts: PrunerParts;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  /** When a prune of this store last deleted more than `pruneMaxShare` of the table (see the prune guard). */
  #lastLargePrune: number | undefined;

  constructor(options: PrunerOptions, parts: PrunerParts) {
    this.#options = options;
    this.#parts = parts;
  }

  /** The timer of the next background prune, if one is scheduled. */
  get timer(): NodeJS.Timeout | undefined {
    return this.#timer;
  }

  /**
   * Prune now, or join the prune running; fails with {@link StoreClosedError} once the store is closing. `background`
   * when the store's timer runs it, which holds it to the `pruneMaxShare` rule too.
   */
  prune(background: boolean): Promise<number> {
    // Only an open store's prune may be joined: after close() every call fails alike.
    if (this.#parts.runner.closed) return Promise.reject(new StoreClosedError('prune'));
    // Exempt from operationTimeout: a prune stops between batches once the store is closing instead.
    this.#running ??= this.#parts.runner.run('prune', (knex) => this.#runPrune(knex, background), false).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Schedule the next background prune: after 50–150 % of the interval, so that stores started together spread out. */
  schedule(): void {
    const interval = this.#options.cleanupInterval;
    if (interval <= 0 || this.#parts.runner.closed) return;
    const delay = Math.round(interval * (0.5 + Math.random()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.prune(true).then(
        () => this.schedule(),
        (error: unknown) => {
          if (!(error instanceof StoreClosedError)) process.nextTick(this.#options.onDbCleanupError, error);
          this.schedule();
        },
      );
    }, delay);
    this.#timer.unref();
  }

  /** Cancel the next background prune (a prune running stops after its batch once the store is closing). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The prune, each batch under the adapter's lock so that of several stores on one table only one deletes at a time;
   * a store that finds it held skips the prune and resolves 0. A batch that loses a conflict with another store's
   * (where the lock does not reach across, as between the nodes of a multi-primary cluster) ends the prune as skipped
   * too: that store is deleting the same rows. Emits `'prune'` with `{ deleted, skipped }` either way.
   */
  async #runPrune(knex: Knex, background: boolean): Promise<number> {
    const started = performance.now();
    // The guard reads the table once, before the first batch; each batch then takes the prune lock itself.
    await this.#guard(knex, background);
    const { deleted, skipped } = await this.#deleteExpired(knex);
    const ms = Math.round(performance.now() - started);
    this.#parts.emit('prune', { deleted, skipped, ms } satisfies PruneEvent);
    return deleted;
  }

  /**
   * The prune guard (the README's "Prune safety"), before the first batch: no row the prune would delete may be live
   * on a second reading of its expiry, and a background prune may delete more than `pruneMaxShare` of the table only
   * when a prune of this store did so within the last three intervals. On a sound table it costs one indexed
   * statement (none for `'timestamp'` on a typed engine) and two counts bounded by the live window.
   */
  async #guard(knex: Knex, background: boolean): Promise<void> {
    const { adapter, table, expiry } = this.#parts;
    const { pruneMaxShare: maxShare, cleanupInterval: interval } = this.#options;
    const nowMs = Date.now();
    // Numbers are foreign to a date-time column only where the column keeps any type and the dialect's date-time is not one.
    const foreignNumbers = adapter.capabilities.dynamicColumnTypes && typeof adapter.encodeExpiry(nowMs, knex) !== 'number';
    await checkSecondReading(knex, table, foreignNumbers, nowMs);
    const share = await measureShare(knex, table, expiry.bind(knex, expiry.encode(nowMs)), maxShare);
    if (!share.excessive) return;
    const recent = this.#lastLargePrune !== undefined && nowMs - this.#lastLargePrune <= 3 * interval;
    if (background && !recent) throw shareError(table, share, maxShare);
    this.#lastLargePrune = nowMs;
  }

  /**
   * Delete expired rows batch by batch until a batch comes back short or the store is closing, resting between
   * batches as long as the adapter asks (its `pruneRestRatio`), so that a prune of a million rows does not take the
   * server away from the requests running meanwhile. Each batch takes the adapter's prune lock (see `pruneBatch`):
   * when another store holds it at the first batch, the prune is skipped; at a later one, that store carries on.
   * With onCorruptSession 'delete', the rows without an expiry go first.
   */
  async #deleteExpired(knex: Knex): Promise<{ deleted: number; skipped: boolean }> {
    const { adapter, table, expiry, runner } = this.#parts;
    const closing = (): boolean => runner.closed;
    const { pruneBatchSize: size, pruneRestRatio: ratio } = adapter.capabilities;
    const batchSize = Number.isInteger(size) && size > 0 ? size : PRUNE_BATCH_SIZE;
    const restRatio = ratio > 0 ? ratio : 0;
    const deleteCorrupt = this.#options.onCorruptSession === 'delete';
    let total = deleteCorrupt ? await this.#parts.bulk.deleteWithoutExpiry(knex, closing) : 0;
    for (let first = true; ; first = false) {
      const now = expiry.bind(knex, expiry.encode(Date.now()));
      const started = performance.now();
      let batch: Awaited<ReturnType<typeof pruneBatch>>;
      try {
        batch = await pruneBatch(knex, adapter, table, now, batchSize);
      } catch (error) {
        // Another store's delete won a conflict with this one (its lock did not reach this store): it is pruning.
        if (!lostConflict(adapter, error)) throw error;
        return { deleted: total, skipped: true };
      }
      if ('locked' in batch) return { deleted: total, skipped: first };
      const { deleted } = batch;
      if (deleted > 0) total += deleted;
      this.#parts.emit('prune-progress', { deleted: total } satisfies PruneProgressEvent);
      // Negated, so that a count that is no number (an adapter's bug) ends the loop instead of spinning forever.
      if (!(deleted >= batchSize) || closing()) return { deleted: total, skipped: false };
      if (restRatio > 0) {
        const rest = Math.min((performance.now() - started) * restRatio, MAX_PRUNE_REST_MS);
        await new Promise((resolve) => setTimeout(resolve, rest));
        if (closing()) return { deleted: total, skipped: false };
      }
    }
  }
}
