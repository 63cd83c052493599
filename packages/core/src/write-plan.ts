import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { liveExpiry, storedExpiry } from './expiry.js';
import { extraValues } from './input-checks.js';
import type { ResolvedOptions } from './options.js';
import type { SessionCodec } from './session-codec.js';
import type { SessionRow } from './session-table.js';
import type { SetEvent } from './store-events.js';
import { withStoredExpiry, type StoredExpiry } from './stored-expiry.js';
import type { TouchThrottle } from './touch-throttle.js';

/** A set of one session, decided before any statement runs. */
export interface WritePlan {
  /** The stored id. */
  readonly key: string;
  /** The row to insert or replace; `undefined` when the session's expiry has passed: its row is deleted instead. */
  readonly row: SessionRow | undefined;
  /** The session's expiry in ms (with no row, the time the plan was made), and that time. */
  readonly expires: number;
  readonly at: number;
}

/** A touch of one session, decided before any statement runs; a touch within `touchAfter` has none (see `touch`). */
export interface TouchPlan {
  /** The stored id. */
  readonly key: string;
  /** The new expiry as the column holds it; `undefined` when it has passed: the row is deleted instead. */
  readonly expired: Knex.Value | undefined;
  /** The time the plan was made, in ms. */
  readonly at: number;
}

/**
 * The steps of a set and a touch around their one statement, so that the waiting path (`StoredSessions`) and the
 * immediate one (`ImmediateWrites`) follow the same rules in the same order: each caller only runs the statement
 * its own way, in between a plan and its finish. Nothing here waits, and nothing here touches the database.
 */
export class WritePlanner {
  readonly #options: Pick<ResolvedOptions, 'columns' | 'ttl' | 'disableTouch'>;
  readonly #codec: SessionCodec;
  readonly #touches: TouchThrottle;
  readonly #expiry: StoredExpiry;

  constructor(
    options: Pick<ResolvedOptions, 'columns' | 'ttl' | 'disableTouch'>,
    parts: { codec: SessionCodec; touches: TouchThrottle; expiry: StoredExpiry },
  ) {
    this.#options = options;
    this.#codec = parts.codec;
    this.#touches = parts.touches;
    this.#expiry = parts.expiry;
  }

  /**
   * The set of `session` under `key`, given its text (`SessionCodec.encode`, awaited when a serializer's): the
   * `columns` functions run here, before the clock is read, as they always have. A session already expired is
   * forgotten by the touch throttle at once, since its row is about to go.
   */
  write(sid: string, session: SessionData, key: string, sess: string): WritePlan {
    // Whether or not the row gets written, what a get read of it no longer tells what is stored.
    this.#touches.forgetRead(sid);
    const extra = extraValues(this.#options.columns, session);
    const at = Date.now();
    const expires = liveExpiry(session, at, this.#options.ttl);
    if (expires === undefined) {
      this.#touches.forget(sid);
      return { key, row: undefined, expires: at, at };
    }
    const expired = this.#expiry.encode(storedExpiry(expires, at));
    return { key, row: { sid: key, sess, expired, extra }, expires, at };
  }

  /** After the row of a `write` plan was stored: the throttle learns of it, and this is what the store emits. */
  wrote(sid: string, plan: WritePlan): SetEvent {
    this.#touches.wrote(sid, plan.at);
    return { sid: plan.key, expires: new Date(plan.expires) };
  }

  /**
   * The touch of `session`, or `undefined` when it may send nothing: `disableTouch`, this process wrote its expiry
   * within `touchAfter`, or the get of this request read the very expiry it would store. Then no statement at all, and
   * the sid is not even hashed. A session already expired is forgotten by the throttle, as in `write`.
   */
  touch(sid: string, session: SessionData): TouchPlan | undefined {
    if (this.#options.disableTouch) return undefined;
    const at = Date.now();
    const expires = liveExpiry(session, at, this.#options.ttl);
    if (expires === undefined) {
      this.#touches.forget(sid);
      return { key: this.#codec.key(sid), expired: undefined, at };
    }
    const storedMs = storedExpiry(expires, at);
    if (this.#touches.skip(sid, at, storedMs)) return undefined;
    return { key: this.#codec.key(sid), expired: this.#expiry.encode(storedMs), at };
  }

  /**
   * After a get found the row of `sid` live, decoded to `session`, with the expiry `storedMs` (ms, as the expiry
   * column holds it): the session as the get answers it, its `cookie.expires` the column's (see `withStoredExpiry`).
   * A touch right after it that would store the same expiry sends nothing (see {@link TouchThrottle}); with
   * `disableTouch` no touch comes, and nothing is recorded.
   */
  read(sid: string, session: SessionData, storedMs: number | undefined): SessionData {
    if (storedMs !== undefined && !this.#options.disableTouch) this.#touches.read(sid, storedMs, Date.now());
    // The expiry column is the truth after a touch, which moves it and leaves the stored cookie as it was.
    return withStoredExpiry(session, storedMs);
  }

  /** After the statement of a `touch` plan: a touch that changed the row counts as an expiry write for the throttle. */
  touched(sid: string, plan: TouchPlan, changed: number | undefined): void {
    if (changed !== undefined && changed > 0) this.#touches.wrote(sid, plan.at);
  }
}
