import type { Knex } from 'knex';
import { Availability, type AvailabilityEvent } from './availability.js';
import { OPERATION_TIMEOUT_CODE, checkConnection } from './connection.js';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionTable } from './session-table.js';
import { ConnectSessionKnexError, DatabaseError, StoreClosedError } from './errors.js';
import { LATER, NOTHING_SENT, type Later, type NothingSent } from './later.js';
import type { ResolvedOptions } from './options.js';
import { lostConflict, type Retry } from './retry.js';
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

/** An operation's failure as it reaches the caller: the store's own errors as they are, any other as a DatabaseError. */
function operationError(operation: string, error: unknown): ConnectSessionKnexError {
  return error instanceof ConnectSessionKnexError ? error : new DatabaseError(operation, error);
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
  /** Operations that have not settled, and what the close() calls wait on to see the last of them settle. */
  #inflight = 0;
  readonly #drained: Array<() => void> = [];
  #ready: Promise<void> | undefined;
  /** Whether `#ready` has fulfilled: operations then start at once instead of awaiting it. */
  #isReady = false;
  #closed = false;
  /** "Now" as the expiry column holds it, read when called: made once and handed to every `now()` body. */
  readonly #nowValue = (): Knex.Value => this.#parts.expiry.encode(Date.now());

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
        () => {
          this.#isReady = true;
          this.#availability.record();
        },
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
    // Once the table is ready the body starts at once: awaiting the fulfilled start-up would cost a promise per call.
    const answer = this.#isReady ? this.#start(body) : this.ready().then(() => this.#start(body));
    const limit = bounded ? this.#options.operationTimeout : 0;
    const settled =
      limit > 0
        ? this.#bounded(operation, answer, limit)
        : answer.catch((error: unknown) => {
            throw operationError(operation, error);
          });
    this.#inflight += 1;
    // Also marks the returned promise handled: a caller that ignores a failure gets no unhandled rejection.
    settled.then(this.#succeeded, this.#failed);
    return settled;
  }

  /**
   * Run `body` at once, synchronously, as `run` would run it (the same "now", the same errors, the same evidence for
   * the availability events), for an operation whose statement can run now (see `ImmediateWrites`). {@link LATER}
   * when it cannot: the store is closed or not ready yet, `body` says so, or its statement lost a conflict (which
   * `run` then sends again, with its retries). {@link NOTHING_SENT} from `body`, returned as it is, finished without
   * the database, and is no evidence. Throws the operation's error, as `run` would reject with it. `now` reads the
   * clock when `body` asks: a body that cannot run now, as on every server, costs no encoding.
   */
  now<T>(
    operation: string,
    body: (knex: Knex, now: () => Knex.Value) => T | Later | NothingSent,
  ): T | Later | NothingSent {
    if (this.#closed || !this.#isReady) return LATER;
    const { knex, adapter } = this.#parts;
    let value: T | Later | NothingSent;
    try {
      value = body(knex, this.#nowValue);
    } catch (error) {
      if (lostConflict(adapter, error)) return LATER;
      const failure = operationError(operation, error);
      this.#availability.record(failure);
      this.#parts.emit('error', failure);
      throw failure;
    }
    if (value !== LATER && value !== NOTHING_SENT) this.#availability.record();
    return value;
  }

  /** Refuse new operations, and settle once those in flight, the start-up and any probe have settled. */
  async close(): Promise<void> {
    this.#closed = true;
    const drained = this.#inflight === 0 ? undefined : new Promise<void>((resolve) => this.#drained.push(resolve));
    // The bootstrap and an availability probe are no operations in #inflight, yet they query too: the knex must
    // outlive them.
    await Promise.allSettled([drained, this.#ready, this.#availability.stop()]);
  }

  /**
   * `answer`, or its failure once `limit` ms have passed without it: one promise and one timer per operation. The
   * statement is left to finish (or fail) on its own, unobserved; close() does not wait for it.
   */
  #bounded<T>(operation: string, answer: Promise<T>, limit: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const cause = Object.assign(new Error(`the database did not answer within ${limit} ms (operationTimeout)`), {
          code: OPERATION_TIMEOUT_CODE,
        });
        reject(new DatabaseError(operation, cause));
      }, limit);
      answer.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(operationError(operation, error));
        },
      );
    });
  }

  /** The body, given the knex and "now"; one that throws at once fails as one that rejects. */
  #start<T>(body: (knex: Knex, now: Knex.Value) => Promise<T>): Promise<T> {
    try {
      const { knex, expiry } = this.#parts;
      return body(knex, expiry.encode(Date.now()));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** How every operation's outcome is recorded: methods bound once, not closures made per call. */
  readonly #succeeded = (): void => {
    this.#settled();
    this.#availability.record();
  };

  readonly #failed = (error: unknown): void => {
    this.#settled();
    this.#availability.record(error);
    this.#parts.emit('error', error);
  };

  #settled(): void {
    this.#inflight -= 1;
    if (this.#inflight === 0 && this.#drained.length > 0) for (const resolve of this.#drained.splice(0)) resolve();
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
