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
import { sweepBatch } from './sweep-batch.js';
import { checkSecondReading, measureShare, shareError } from './sweep-guard.js';

/** The longest rest between two batches of the sweep, so that one slow batch cannot hold `close()` up for long. */
const MAX_SWEEP_REST_MS = 1000;

/** The options a {@link Sweeper} reads. */
export type SweeperOptions = Pick<
  ResolvedOptions,
  'cleanupInterval' | 'sweepMaxShare' | 'onCorruptSession' | 'onDbCleanupError'
>;

/** What a {@link Sweeper} needs from its store. */
export interface SweeperParts {
  readonly adapter: DialectAdapter;
  readonly table: SessionTable;
  readonly expiry: StoredExpiry;
  readonly bulk: BulkStatements;
  /** Runs the sweep as one of the store's operations, and tells when the store is closing. */
  readonly runner: OperationRunner;
  /** Emit an event on the store (on a later tick). */
  readonly emit: (event: 'prune' | 'prune-progress', payload: PruneEvent | PruneProgressEvent) => void;
}

/**
 * Deletes expired rows: on request (`prune`, which a call during a running sweep joins) and in the background every
 * `interval` ms or so, in batches, each under the adapter's sweep lock where it has one, after the sweep guard.
 */
export class Sweeper {
  readonly #options: SweeperOptions;
  readonly #parts: SweeperParts;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  /** When a sweep of this store last deleted more than `sweepMaxShare` of the table (see the sweep guard). */
  #lastLargeSweep: number | undefined;

  constructor(options: SweeperOptions, parts: SweeperParts) {
    this.#options = options;
    this.#parts = parts;
  }

  /** The timer of the next background sweep, if one is scheduled. */
  get timer(): NodeJS.Timeout | undefined {
    return this.#timer;
  }

  /**
   * Sweep now, or join the sweep running; fails with {@link StoreClosedError} once the store is closing. `background`
   * when the store's timer runs it, which holds it to the `sweepMaxShare` rule too.
   */
  prune(background: boolean): Promise<number> {
    // Only an open store's sweep may be joined: after close() every call fails alike.
    if (this.#parts.runner.closed) return Promise.reject(new StoreClosedError('prune'));
    // Exempt from operationTimeout: a sweep stops between batches once the store is closing instead.
    this.#running ??= this.#parts.runner.run('prune', (knex) => this.#sweep(knex, background), false).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Schedule the next background sweep: after 50–150 % of the interval, so that stores started together spread out. */
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

  /** Cancel the next background sweep (a sweep running stops after its batch once the store is closing). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The sweep, each batch under the adapter's lock so that of several stores on one table only one deletes at a time;
   * a store that finds it held skips the sweep and resolves 0. A batch that loses a conflict with another store's
   * (where the lock does not reach across, as between the nodes of a multi-primary cluster) ends the sweep as skipped
   * too: that store is deleting the same rows. Emits `'prune'` with `{ deleted, skipped }` either way.
   */
  async #sweep(knex: Knex, background: boolean): Promise<number> {
    const started = performance.now();
    // The guard reads the table once, before the first batch; each batch then takes the sweep lock itself.
    await this.#guard(knex, background);
    const { deleted, skipped } = await this.#deleteExpired(knex);
    const ms = Math.round(performance.now() - started);
    this.#parts.emit('prune', { deleted, skipped, ms } satisfies PruneEvent);
    return deleted;
  }

  /**
   * The sweep guard (the README's "Sweep safety"), before the first batch: no row the sweep would delete may be live
   * on a second reading of its expiry, and a background sweep may delete more than `sweepMaxShare` of the table only
   * when a sweep of this store did so within the last three cleanup intervals. On a sound table it costs one indexed
   * statement (none for `'timestamp'` on a typed engine) and two counts bounded by the live window.
   */
  async #guard(knex: Knex, background: boolean): Promise<void> {
    const { adapter, table, expiry } = this.#parts;
    const { sweepMaxShare: maxShare, cleanupInterval: interval } = this.#options;
    const nowMs = Date.now();
    // Numbers are foreign to a date-time column only where the column keeps any type and the dialect's date-time is not one.
    const foreignNumbers = adapter.capabilities.dynamicColumnTypes && typeof adapter.encodeExpiry(nowMs, knex) !== 'number';
    await checkSecondReading(knex, table, foreignNumbers, nowMs);
    const share = await measureShare(knex, table, expiry.bind(knex, expiry.encode(nowMs)), maxShare);
    if (!share.excessive) return;
    const recent = this.#lastLargeSweep !== undefined && nowMs - this.#lastLargeSweep <= 3 * interval;
    if (background && !recent) throw shareError(table, share, maxShare);
    this.#lastLargeSweep = nowMs;
  }

  /**
   * Delete expired rows batch by batch until a batch comes back short or the store is closing, resting between
   * batches as long as the adapter asks (its `sweepRestRatio`), so that a sweep of a million rows does not take the
   * server away from the requests running meanwhile. Each batch takes the adapter's sweep lock (see `sweepBatch`):
   * when another store holds it at the first batch, the sweep is skipped; at a later one, that store carries on.
   * With onCorruptSession 'delete', the rows without an expiry go first.
   */
  async #deleteExpired(knex: Knex): Promise<{ deleted: number; skipped: boolean }> {
    const { adapter, table, expiry, runner } = this.#parts;
    const closing = (): boolean => runner.closed;
    const { sweepBatchSize: size, sweepRestRatio: ratio } = adapter.capabilities;
    const batchSize = Number.isInteger(size) && size > 0 ? size : PRUNE_BATCH_SIZE;
    const restRatio = ratio > 0 ? ratio : 0;
    const deleteCorrupt = this.#options.onCorruptSession === 'delete';
    let total = deleteCorrupt ? await this.#parts.bulk.deleteWithoutExpiry(knex, closing) : 0;
    for (let first = true; ; first = false) {
      const now = expiry.bind(knex, expiry.encode(Date.now()));
      const started = performance.now();
      let batch: Awaited<ReturnType<typeof sweepBatch>>;
      try {
        batch = await sweepBatch(knex, adapter, table, now, batchSize);
      } catch (error) {
        // Another store's delete won a conflict with this one (its lock did not reach this store): it is sweeping.
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
        const rest = Math.min((performance.now() - started) * restRatio, MAX_SWEEP_REST_MS);
        await new Promise((resolve) => setTimeout(resolve, rest));
        if (closing()) return { deleted: total, skipped: false };
      }
    }
  }
}
