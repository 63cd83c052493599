import type { Knex } from 'knex';
import { Availability, type AvailabilityEvent } from './availability.js';
import { OPERATION_TIMEOUT_CODE, checkConnection } from './connection.js';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionTable } from './session-table.js';
import { ConnectSessionKnexError, DatabaseError, StoreClosedError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { Retry } from './retry.js';
import type { StoredExpiry } from './stored-expiry.js';
import { bootstrapTable } from './table-setup.js';

/** The options an {@link OperationRunner} reads: `createTable` for the start-up (see `bootstrapTable`). */
export type OperationRunnerOptions = Pick<ResolvedOptions, 'operationTimeout' | 'createTable'>;

/** What an {@link OperationRunner} needs from its store. */
export interface OperationRunnerParts {
  readonly knex: Knex;
  readonly adapter: DialectAdapter;
  readonly table: SessionTable;
  readonly expiry: StoredExpiry;
  readonly retry: Retry;
  /** Emit an event on the store (on a later tick). */
  readonly emit: (event: AvailabilityEvent | 'error', ...args: unknown[]) => void;
}

const noop = (): void => {};

/** A rejected promise already marked as handled, like every promise `ready` returns (it still rejects an awaiter). */
function rejected(error: unknown): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(noop);
  return promise;
}

/**
 * Runs a store's operations: refuses them after close, waits for the table, binds "now", names the operation in
 * errors, bounds it by `operationTimeout`, keeps it in flight until it settles, and feeds its outcome to the
 * availability events.
 */
export class OperationRunner {
  readonly #options: OperationRunnerOptions;
  readonly #parts: OperationRunnerParts;
  readonly #availability: Availability;
  readonly #inflight = new Set<Promise<unknown>>();
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: OperationRunnerOptions, parts: OperationRunnerParts) {
    this.#options = options;
    this.#parts = parts;
    const { adapter } = parts;
    this.#availability = new Availability({
      probe: () => this.#probe(),
      isConnectionError: (error) => adapter.classifyError(error) === 'unreachable',
      emit: (event: AvailabilityEvent) => parts.emit(event),
    });
  }

  /** Whether `close()` was called: every later operation fails with {@link StoreClosedError}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Settles when the table is ready; a failed start-up is retried by the next call (see `KnexStore.ready`). */
  ready(): Promise<void> {
    if (!this.#ready) {
      if (this.#closed) return rejected(new StoreClosedError('ready'));
      const { knex, adapter, table, retry } = this.#parts;
      const { createTable } = this.#options;
      // Retried as a statement is when it loses a conflict: on a multi-primary cluster another node's CREATE TABLE of the
      // same table can fail the catalog reads that follow with a deadlock. Every step of the bootstrap may run again.
      const ready = retry(() => bootstrapTable(knex, adapter, table, createTable)).catch((error: unknown) => {
        this.#ready = undefined;
        throw error instanceof ConnectSessionKnexError ? error : new DatabaseError('ready', error);
      });
      // Also marks the rejection handled: the start-up's outcome is evidence of availability like any operation's.
      ready.then(
        () => this.#availability.record(),
        (error: unknown) => this.#availability.record(error),
      );
      this.#ready = ready;
    }
    return this.#ready;
  }

  /**
   * Run one operation. Every operation goes through here, whatever runs its statements. `bounded: false` exempts it
   * from operationTimeout (the prune, which stops between batches instead).
   */
  run<T>(operation: string, body: (knex: Knex, now: Knex.Value) => Promise<T>, bounded = true): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreClosedError(operation));
    const run = (async () => {
      try {
        await this.ready();
        const { knex, expiry } = this.#parts;
        return await body(knex, expiry.encode(Date.now()));
      } catch (error) {
        throw error instanceof ConnectSessionKnexError ? error : new DatabaseError(operation, error);
      }
    })();
    const settled = bounded ? this.#bounded(operation, run) : run;
    this.#inflight.add(settled);
    settled.then(
      () => {
        this.#inflight.delete(settled);
        this.#availability.record();
      },
      (error: unknown) => {
        this.#inflight.delete(settled);
        this.#availability.record(error);
        this.#parts.emit('error', error);
      },
    );
    return settled;
  }

  /** Refuse new operations, and settle once those in flight, the start-up and any probe have settled. */
  async close(): Promise<void> {
    this.#closed = true;
    // The bootstrap and an availability probe are no operations in #inflight, yet they query too: the knex must
    // outlive them.
    await Promise.allSettled([...this.#inflight, this.#ready, this.#availability.stop()]);
  }

  /**
   * `run`, or its failure once `operationTimeout` has passed without an answer. The statement is left to finish (or
   * fail) on its own, unobserved; close() does not wait for it.
   */
  #bounded<T>(operation: string, run: Promise<T>): Promise<T> {
    const limit = this.#options.operationTimeout;
    if (!(limit > 0)) return run;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const cause = Object.assign(new Error(`the database did not answer within ${limit} ms (operationTimeout)`), {
          code: OPERATION_TIMEOUT_CODE,
        });
        reject(new DatabaseError(operation, cause));
      }, limit);
    });
    return Promise.race([run, expired]).finally(() => clearTimeout(timer));
  }

  /**
   * Whether the database answers, for the availability events. With a pool of several connections, by opening a
   * connection of its own outside the pool and reading one row on it (within the pool's acquire timeout): a pool that is merely busy (every
   * connection taken, by slow queries or a burst of requests) is then no outage. A pool of one connection is an
   * embedded database's, where a second connection is no option: there, by asking for the table through the pool.
   * After an answer, a start-up that failed is retried at once, so that the table exists before requests return.
   */
  async #probe(): Promise<void> {
    const { knex, adapter, table } = this.#parts;
    const pool = (knex.client as { pool?: { max?: unknown; acquireTimeoutMillis?: unknown } }).pool;
    if (typeof pool?.max === 'number' && pool.max > 1) {
      const timeout = Number(pool.acquireTimeoutMillis);
      // A statement, not just a connect: a cluster node cut off from its cluster accepts connections but answers
      // every statement with an error the adapter classifies as unavailable. A missing table is an answer.
      await checkConnection(knex, Number.isFinite(timeout) && timeout > 0 ? timeout : 60_000, (connection) =>
        table.query(connection).select(table.sidColumn).limit(1),
      );
      void this.ready();
      return;
    }
    await this.ready();
    await adapter.catalog.hasTable(knex, table);
  }
}
