import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { BatchedStatements } from './batched-statements.js';
import type { BulkStatements } from './bulk-statements.js';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionTable } from './session-table.js';
import { InvalidSessionError } from './errors.js';
import { ImmediateWrites } from './immediate-writes.js';
import type { ResolvedOptions } from './options.js';
import type { Retry } from './retry.js';
import { SessionCodec } from './session-codec.js';
import { sessionBatches, type SessionBatches } from './session-batches.js';
import { SessionStatements } from './session-statements.js';
import type { SetEvent } from './store-events.js';
import type { StoredExpiry } from './stored-expiry.js';
import { TouchThrottle } from './touch-throttle.js';
import { WritePlanner, type TouchPlan } from './write-plan.js';

/** One session `findWhere` found: its stored id and the session. */
export interface FoundSession {
  /** The stored id (with `hashSid`, the hash, not the cookie's sid): pass it to `destroyWhere({ sid })` to revoke. */
  readonly sid: string;
  readonly session: SessionData;
}

/** The options {@link StoredSessions} reads. */
export type StoredSessionsOptions = Pick<
  ResolvedOptions,
  'serializer' | 'hashSid' | 'onCorruptSession' | 'columns' | 'ttl' | 'touchAfter' | 'disableTouch' | 'fastPath'
> & {
  /** Whether the gets and touches of one event-loop turn are sent together (the `coalesce` option, resolved). */
  readonly coalesce: boolean;
};

/** What {@link StoredSessions} needs from its store. */
export interface StoredSessionsParts {
  readonly adapter: DialectAdapter;
  readonly table: SessionTable;
  /** The store's knex, and whether the store created it (see `NativeExecutorContext.ownsKnex`). */
  readonly knex: Knex;
  readonly ownsKnex: boolean;
  readonly expiry: StoredExpiry;
  readonly bulk: BulkStatements;
  readonly retry: Retry;
}

/**
 * The sessions as the table holds them: each under its stored id (the sid, or its hash), encoded by the codec, with
 * its expiry. The store's operations call one method each, with sids and sessions already checked. The statements on
 * one session run through the store's {@link Retry}; a row the codec finds corrupt either fails the read or, with
 * onCorruptSession 'delete', is deleted and reads as none.
 */
export class StoredSessions {
  readonly #options: StoredSessionsOptions;
  readonly #parts: StoredSessionsParts;
  readonly #codec: SessionCodec;
  readonly #statements: SessionStatements;
  readonly #touches: TouchThrottle;
  /** The steps of `write` and `touch` around their statement, shared with {@link ImmediateWrites}. */
  readonly #plans: WritePlanner;
  /** With `coalesce`: the calls of one event-loop turn, each kind sent together. */
  readonly #batches: SessionBatches | undefined;
  /** `read`, `write` and `touch` at once, when their statement can run now. */
  readonly immediate: ImmediateWrites;

  constructor(options: StoredSessionsOptions, parts: StoredSessionsParts) {
    const { adapter, table, knex, expiry, retry } = parts;
    this.#options = options;
    this.#parts = parts;
    this.#codec = new SessionCodec(options);
    const statements = (this.#statements = new SessionStatements(adapter, table, {
      enabled: options.fastPath,
      ownsKnex: parts.ownsKnex,
      bindExpiry: (db, value) => expiry.bind(db, value),
    }));
    const touches = (this.#touches = new TouchThrottle(options.touchAfter));
    const plans = (this.#plans = new WritePlanner(options, { codec: this.#codec, touches, expiry }));
    this.immediate = new ImmediateWrites(options, { codec: this.#codec, statements, plans });
    if (options.coalesce) {
      const batched = new BatchedStatements(statements, adapter, table, (db, value) => expiry.bind(db, value));
      this.#batches = sessionBatches(statements, batched, knex, expiry, retry);
    }
  }

  /** The live session of `sid`, with `cookie.expires` as the expiry column holds it; `null` when there is none. */
  async read(knex: Knex, sid: string, now: Knex.Value): Promise<SessionData | null> {
    const key = this.#codec.key(sid);
    const row = this.#batches
      ? await this.#batches.reads.add(key, undefined)
      : await this.#parts.retry(() => this.#statements.get(knex, key, now));
    if (!row.found) return null;
    let session = this.#codec.decode(row.value, key);
    // Only a serializer's session comes later: a JSON one is not awaited, which would cost a turn for nothing.
    if (session instanceof Promise) session = await session;
    if (session === undefined) return this.#deleteCorrupt(knex, key);
    return this.#plans.read(sid, session, row.expires);
  }

  /** Insert or replace the session of `sid`; one whose expiry has passed is deleted instead (resolves `undefined`). */
  async write(knex: Knex, sid: string, session: SessionData): Promise<SetEvent | undefined> {
    const key = this.#codec.key(sid);
    const encoded = this.#codec.encode(session, key);
    // As in read: only a serializer's text is awaited.
    const plan = this.#plans.write(sid, session, key, typeof encoded === 'string' ? encoded : await encoded);
    const row = plan.row;
    if (row === undefined) return this.#destroyExpired(knex, key);
    const writes = this.#batches?.writes;
    await (writes ? writes.add(key, row) : this.#parts.retry(() => this.#statements.upsert(knex, row)));
    return this.#plans.wrote(sid, plan);
  }

  /**
   * The touch of `session`: `undefined` when it sends nothing, with `disableTouch`, or because this process wrote the
   * expiry within `touchAfter` or this request's get read the expiry it would store. Planned once per call: the plan
   * consumes the get's read.
   */
  planTouch(sid: string, session: SessionData): TouchPlan | undefined {
    return this.#plans.touch(sid, session);
  }

  /** Carry out a touch `planTouch` planned: move a live session's expiry; never revive an expired one. */
  async touch(knex: Knex, sid: string, plan: TouchPlan, nowValue: Knex.Value): Promise<void> {
    const { key, expired } = plan;
    if (expired === undefined) return this.#destroyExpired(knex, key);
    const changed = this.#batches
      ? await this.#batches.touches.add(key, expired)
      : await this.#parts.retry(() => this.#statements.touch(knex, key, expired, nowValue));
    this.#plans.touched(sid, plan, changed);
  }

  /** Delete the session of `sid`. Resolves its stored id and the rows deleted. */
  async destroy(knex: Knex, sid: string): Promise<{ keys: string[]; deleted: number }> {
    this.#touches.forget(sid);
    const key = this.#codec.key(sid);
    const deleted = await this.#parts.retry(() => this.#statements.destroy(knex, key));
    // Only when nothing was deleted, so that a sid that merely looks like a hash costs nothing more.
    if (deleted === 0) await this.#refuseStoredIds(knex, [sid]);
    return { keys: [key], deleted };
  }

  /** Delete the sessions of `sids`, refused whole before any delete (see `#refuseStoredIds`). */
  async destroyMany(knex: Knex, sids: readonly string[]): Promise<{ keys: string[]; deleted: number }> {
    // Before deleting anything: a mistaken array must not be half carried out.
    await this.#refuseStoredIds(knex, sids);
    for (const one of sids) this.#touches.forget(one);
    const keys = sids.map((one) => this.#codec.key(one));
    return { keys, deleted: await this.#parts.bulk.deleteSids(knex, keys) };
  }

  /** Every live session keyed by stored id, narrowed to the rows whose columns hold `where`'s values when given. */
  async live(knex: Knex, now: Knex.Value, where?: Record<string, string>): Promise<Record<string, SessionData>> {
    const { bulk, expiry } = this.#parts;
    const rows = await bulk.selectLive(knex, expiry.bind(knex, now), where);
    const sessions: Record<string, SessionData> = {};
    const corrupt: string[] = [];
    for (const { sid, value } of rows) {
      const session = await this.#codec.decode(value, sid);
      if (!session) {
        corrupt.push(sid);
        continue;
      }
      // defineProperty, so that a sid such as "__proto__" is an ordinary key and never a prototype.
      Object.defineProperty(sessions, sid, { value: session, enumerable: true, writable: true, configurable: true });
    }
    await bulk.deleteSids(knex, corrupt);
    return sessions;
  }

  /** The live sessions whose columns hold `where`'s values, each with its stored id. */
  async find(knex: Knex, now: Knex.Value, where: Record<string, string>): Promise<FoundSession[]> {
    const sessions = await this.live(knex, now, where);
    return Object.keys(sessions).map((sid) => ({ sid, session: sessions[sid]! }));
  }

  /** The number of live sessions (with onCorruptSession 'delete', after deleting the corrupt ones). */
  async count(knex: Knex, now: Knex.Value): Promise<number> {
    if (this.#options.onCorruptSession === 'delete') return Object.keys(await this.live(knex, now)).length;
    return this.#parts.bulk.countLive(knex, this.#parts.expiry.bind(knex, now));
  }

  /** The stored ids of every live session (with onCorruptSession 'delete', after deleting the corrupt ones). */
  async ids(knex: Knex, now: Knex.Value): Promise<string[]> {
    if (this.#options.onCorruptSession === 'delete') return Object.keys(await this.live(knex, now));
    return this.#parts.bulk.liveSids(knex, this.#parts.expiry.bind(knex, now));
  }

  /** Delete every session, live or expired, whose columns hold `where`'s values. Resolves the rows deleted. */
  destroyWhere(knex: Knex, where: Record<string, string>): Promise<number> {
    return this.#parts.bulk.deleteWhere(knex, where);
  }

  /** Delete every session, live or expired. Resolves the rows deleted. */
  clear(knex: Knex): Promise<number> {
    return this.#parts.bulk.deleteAll(knex);
  }

  /** Release what the fast path holds on its connections (before the knex is destroyed). */
  close(): Promise<void> {
    return this.#statements.close();
  }

  /** Delete the row of a session whose expiry has already passed: a set or touch of it never revives it. */
  async #destroyExpired(knex: Knex, key: string): Promise<undefined> {
    await this.#parts.retry(() => this.#statements.destroy(knex, key));
    return undefined;
  }

  /**
   * A corrupt row `get` read, which the codec (with onCorruptSession 'delete') gave as no session: deleted, and read
   * as none.
   */
  async #deleteCorrupt(knex: Knex, sid: string): Promise<null> {
    // A set racing this read could be deleted with the corrupt row; that costs one session, as the corrupt row did.
    await this.#parts.bulk.deleteSid(knex, sid);
    return null;
  }

  /**
   * With `hashSid`, refuse the values among `sids` that are not session ids but stored ids a listing gave: 64 hex
   * characters naming a row as they are. Hashing them again would match nothing, and `destroy` would report success
   * while the session stays valid. A sid that looks like a hash but names no row passes (a `genid` may make such sids).
   */
  async #refuseStoredIds(knex: Knex, sids: readonly string[]): Promise<void> {
    const candidates = this.#codec.storedIdLookalikes(sids);
    if (candidates.length === 0 || !(await this.#parts.bulk.anyStored(knex, candidates))) return;
    throw new InvalidSessionError(
      'destroy() takes the session id a cookie carries, but was given a stored id (the hash that ids() and findWhere ' +
        'give with hashSid), which it would hash again and never find: to delete by that id, use destroyWhere({ sid })',
    );
  }
}
