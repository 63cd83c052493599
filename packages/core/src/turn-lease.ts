import type { Knex } from 'knex';

/** One pooled connection shared by the calls of one event-loop turn (see `NativeExecutor.sharesConnection`). */
export interface Lease {
  readonly connection: Promise<unknown>;
  /** Whether calls may still join. */
  open: boolean;
  /** Calls that joined and have not finished. */
  users: number;
  /** The connection, from its arrival until it goes back to the pool. */
  held: unknown;
  leave(): void;
}

const noop = (): void => {};

/** Whether someone else waits for a connection from the knex's pool; true when the pool cannot say. */
function othersWaiting(client: Knex.Client): boolean {
  const pool = (client as { pool?: { numPendingAcquires?: () => number } }).pool;
  return typeof pool?.numPendingAcquires === 'function' ? pool.numPendingAcquires() > 0 : true;
}

/** Whether a call made now would join `lease` (see {@link TurnLeases}). */
function takes(lease: Lease, client: Knex.Client): boolean {
  return lease.open || (lease.users > 0 && !othersWaiting(client));
}

/**
 * The leases of one store's calls, for an executor whose driver runs a connection's statements in order. A lease is
 * one connection from the pool, taken by the first call that needs one. It takes every call made in the turn in which
 * its connection arrived (until a `setImmediate`, which runs after all of that turn's promise continuations); after
 * that, only calls that come while others are still running on it and while nobody else waits for a connection from
 * the pool (when the pool can tell). It goes back to the pool as soon as it takes no more calls and the last one has
 * left: another user of the pool waits for the calls in flight at most.
 */
export class TurnLeases {
  #current: Lease | undefined;
  /** Settles once the last lease's connection is back in the pool. */
  #returned: Promise<void> = Promise.resolve();

  /** Settles once every lease taken so far has given its connection back. */
  get returned(): Promise<void> {
    return this.#returned;
  }

  /**
   * The connection a call made now may use at once, synchronously, without joining: that of the lease it would join,
   * once its connection has arrived; `undefined` when there is none (the call then joins a lease and waits).
   */
  inHand(client: Knex.Client): unknown {
    const current = this.#current;
    return current && current.held !== undefined && takes(current, client) ? current.held : undefined;
  }

  /** The lease a call made now joins; the caller must `leave()` it once, when done. */
  join(client: Knex.Client): Lease {
    const current = this.#current;
    if (current && takes(current, client)) {
      current.users += 1;
      return current;
    }
    let finish: () => void = noop;
    const returned = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const lease: Lease = {
      connection: client.acquireConnection(),
      open: true,
      users: 1,
      held: undefined,
      leave: () => {
        lease.users -= 1;
        release();
      },
    };
    let connection: unknown;
    let acquired = false;
    const release = (): void => {
      if (lease.open || lease.users > 0 || !acquired) return;
      acquired = false;
      lease.held = undefined;
      if (this.#current === lease) this.#current = undefined;
      Promise.resolve(client.releaseConnection(connection)).then(finish, finish);
    };
    lease.connection.then(
      (value) => {
        connection = value;
        acquired = true;
        lease.held = value;
        setImmediate(() => {
          lease.open = false;
          release();
        });
      },
      () => {
        // No connection came (a pool timeout): the calls that waited fail with that error; the next one asks again.
        lease.open = false;
        if (this.#current === lease) this.#current = undefined;
        finish();
      },
    );
    this.#current = lease;
    this.#returned = Promise.all([this.#returned, returned]).then(noop);
    return lease;
  }
}
