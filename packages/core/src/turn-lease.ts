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
  /** Kept between turns, with no call on it, until another user of the pool asks for a connection. */
  kept: boolean;
  /** When the connection came from the pool (`performance.now()`); a kept one goes back {@link KEEP_MS} later. */
  since: number;
  /** A call on the connection failed: it takes no more calls and is not kept, so that the pool checks it again. */
  failed: boolean;
  leave(): void;
  /** Give the connection back now, if no call is on it. */
  giveBack(): void;
}

/** The part of knex's pool (tarn) the leases read, and its events. */
interface Pool {
  numPendingAcquires?(): number;
  on?(event: string, listener: () => void): void;
  removeListener?(event: string, listener: () => void): void;
}

const noop = (): void => {};

/**
 * How long a kept connection serves without going back to the pool. Each return lets the pool apply its own rules
 * (the application's `pool.validate`, `maxConnectionLifetimeMillis`, a refreshed connection config) within this time,
 * at the cost of one trip through the pool per period.
 */
const KEEP_MS = 1000;

const poolOf = (client: Knex.Client): Pool | undefined => (client as { pool?: Pool }).pool;

/** Whether someone else waits for a connection from the knex's pool; true when the pool cannot say. */
function othersWaiting(client: Knex.Client): boolean {
  const pool = poolOf(client);
  return typeof pool?.numPendingAcquires === 'function' ? pool.numPendingAcquires() > 0 : true;
}

/** Whether `lease` may still be kept, or serve while kept: no call on it failed, and it is younger than `KEEP_MS`. */
const fresh = (lease: Lease): boolean => !lease.failed && performance.now() - lease.since < KEEP_MS;

/** Whether a call made now would join `lease` (see {@link TurnLeases}). */
function takes(lease: Lease, client: Knex.Client): boolean {
  if (lease.kept) return fresh(lease);
  return !lease.failed && (lease.open || (lease.users > 0 && !othersWaiting(client)));
}

/**
 * The leases of one store's calls, for an executor whose driver runs a connection's statements in order. A lease is
 * one connection from the pool, taken by the first call that needs one. It takes every call made in the turn in which
 * its connection arrived (until a `setImmediate`, which runs after all of that turn's promise continuations); after
 * that, only calls that come while others are still running on it and while nobody else waits for a connection from
 * the pool (when the pool can tell). It goes back to the pool as soon as it takes no more calls and the last one has
 * left: another user of the pool waits for the calls in flight at most.
 *
 * With `keep` (an executor whose calls run synchronously, on a database in this process), a lease whose last call has
 * left is kept instead, while nobody waits, and serves the next turns' calls at once: the next request's get then
 * needs no trip through the pool. It is kept for at most {@link KEEP_MS} after it came from the pool, and not at all
 * once a call on it has failed, so that the pool's own checks still see its connection. The pool says when someone
 * else asks for a connection or the pool is destroyed, and the kept connection goes back at that moment, before the
 * pool looks for a free one: the application's own queries on the same knex never wait for it. A pool that cannot say
 * (no events) gets its connection back as usual.
 */
export class TurnLeases {
  readonly #keep: boolean;
  #current: Lease | undefined;
  /** Settles once the last lease's connection is back in the pool. */
  #returned: Promise<void> = Promise.resolve();
  /** The pool whose events give a kept connection back, while listened to. */
  #watched: Pool | undefined;
  #closed = false;

  constructor(options: { keep: boolean }) {
    this.#keep = options.keep;
  }

  /**
   * The connection a call made now may use at once, synchronously, without joining: that of the lease it would join,
   * once its connection has arrived; `undefined` when there is none (the call then joins a lease and waits).
   */
  inHand(client: Knex.Client): unknown {
    const current = this.#current;
    return current && current.held !== undefined && takes(current, client) ? current.held : undefined;
  }

  /**
   * A call on the connection {@link TurnLeases.inHand} gave failed: no call joins that lease any more, and its
   * connection goes back to the pool as soon as none is on it, instead of being kept.
   */
  failedInHand(): void {
    const current = this.#current;
    if (!current) return;
    current.failed = true;
    current.giveBack();
  }

  /** The lease a call made now joins; the caller must `leave()` it once, when done. */
  join(client: Knex.Client): Lease {
    const current = this.#current;
    if (current && takes(current, client)) {
      // A kept lease serves this call as an ordinary one: kept again once its last call leaves, if nobody waits.
      current.kept = false;
      current.users += 1;
      return current;
    }
    let finish: () => void = noop;
    const returned = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const pool = poolOf(client);
    const keep = this.#keep && !this.#closed && this.#watch(pool);
    const lease: Lease = {
      // A kept lease this call does not take (past its time) goes back as the pool hears this request.
      connection: client.acquireConnection(),
      open: true,
      users: 1,
      held: undefined,
      kept: false,
      since: 0,
      failed: false,
      leave: () => {
        lease.users -= 1;
        release();
      },
      giveBack: () => release(true),
    };
    let connection: unknown;
    let acquired = false;
    const release = (now = false): void => {
      if (lease.open || lease.users > 0 || !acquired) return;
      // Kept only while its pool is watched: not once the store is closed or the pool is being destroyed.
      if (keep && !now && fresh(lease) && this.#watched === pool && !othersWaiting(client)) {
        lease.kept = true;
        return;
      }
      lease.kept = false;
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
        // Only a connection the store may keep has an age that counts (see `fresh`).
        if (keep) lease.since = performance.now();
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

  /** Keep no connection from now on: a kept one goes back at once. Settles once every lease has given its back. */
  close(): Promise<void> {
    this.#closed = true;
    this.#giveBackKept();
    this.#unwatch();
    return this.#returned;
  }

  readonly #giveBackKept = (): void => {
    if (this.#current?.kept) this.#current.giveBack();
  };

  /** The pool is being destroyed (`knex.destroy()`): give the connection back, and keep none from that pool. */
  readonly #poolDestroyed = (): void => {
    this.#unwatch();
    this.#giveBackKept();
  };

  /** Listen to `pool`'s requests (once per pool); whether a kept lease will hear of them. */
  #watch(pool: Pool | undefined): boolean {
    if (pool === this.#watched) return pool !== undefined;
    this.#unwatch();
    if (typeof pool?.on !== 'function' || typeof pool.removeListener !== 'function') return false;
    pool.on('acquireRequest', this.#giveBackKept);
    pool.on('poolDestroyRequest', this.#poolDestroyed);
    this.#watched = pool;
    return true;
  }

  #unwatch(): void {
    const pool = this.#watched;
    this.#watched = undefined;
    pool?.removeListener?.('acquireRequest', this.#giveBackKept);
    pool?.removeListener?.('poolDestroyRequest', this.#poolDestroyed);
  }
}
