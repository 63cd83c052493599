import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { liveExpiry } from './expiry.js';
import { extraValues } from './input-checks.js';
import { LATER, type Later } from './later.js';
import { withStoredExpiry } from './stored-expiry.js';
import type { ResolvedOptions } from './options.js';
import type { SessionCodec } from './session-codec.js';
import type { SessionStatements } from './session-statements.js';
import type { SetEvent } from './store-events.js';
import type { StoredExpiry } from './stored-expiry.js';
import type { TouchThrottle } from './touch-throttle.js';

/** The options {@link ImmediateWrites} reads. */
type ImmediateWritesOptions = Pick<ResolvedOptions, 'serializer' | 'columns' | 'ttl'> & {
  /** The `coalesce` option, resolved: its batches then carry every call. */
  readonly coalesce: boolean;
};

/**
 * `StoredSessions.read`, `write` and `touch` carried out at once, synchronously, when the statement can run now (a driver
 * whose calls are synchronous, and a connection already in hand: see `SessionStatements.canWriteNow`). The steps, their
 * order and their errors are those of the ordinary path; only the waiting is gone. Each returns {@link LATER}, having
 * done nothing, when it cannot finish now: before any of the application's code (a serializer, `columns`) has run.
 * One exception: a statement that lost a conflict (another process held the database) is sent again by the ordinary
 * path, with its retries, which runs the whole write again, `columns` functions included.
 */
export class ImmediateWrites {
  readonly #options: ImmediateWritesOptions;
  readonly #codec: SessionCodec;
  readonly #statements: SessionStatements;
  readonly #touches: TouchThrottle;
  readonly #expiry: StoredExpiry;

  constructor(
    options: ImmediateWritesOptions,
    parts: { codec: SessionCodec; statements: SessionStatements; touches: TouchThrottle; expiry: StoredExpiry },
  ) {
    this.#options = options;
    this.#codec = parts.codec;
    this.#statements = parts.statements;
    this.#touches = parts.touches;
    this.#expiry = parts.expiry;
  }

  /**
   * As `StoredSessions.read`. Coalesced calls keep their own path. A row that turns out corrupt under onCorruptSession
   * 'delete' is left to the ordinary path (which reads it again and deletes it): a read changes nothing.
   */
  read(knex: Knex, sid: string, now: () => Knex.Value): SessionData | null | Later {
    // Checked first: on a driver that cannot, the ordinary path would otherwise hash the sid (hashSid) a second time.
    if (this.#options.serializer || this.#options.coalesce || !this.#statements.canReadNow(knex)) return LATER;
    const key = this.#codec.key(sid);
    const row = this.#statements.getNow(knex, key, now());
    if (row === undefined) return LATER;
    if (!row.found) return null;
    const session = this.#codec.decode(row.value, key) as SessionData | undefined;
    return session === undefined ? LATER : withStoredExpiry(session, row.expires);
  }

  /** As `StoredSessions.write`. A serializer's text may come later: such a store always waits. */
  write(knex: Knex, sid: string, session: SessionData): SetEvent | undefined | Later {
    if (this.#options.serializer || this.#options.coalesce || !this.#statements.canWriteNow(knex)) return LATER;
    const key = this.#codec.key(sid);
    const sess = this.#codec.encode(session, key) as string;
    const extra = extraValues(this.#options.columns, session);
    const now = Date.now();
    const expires = liveExpiry(session, now, this.#options.ttl);
    if (expires === undefined) return this.#destroyExpired(knex, sid);
    this.#statements.upsertNow(knex, { sid: key, sess, expired: this.#expiry.encode(expires), extra });
    this.#touches.wrote(sid, now);
    return { sid: key, expires: new Date(expires) };
  }

  /** As `StoredSessions.touch`. */
  touch(knex: Knex, sid: string, session: SessionData, nowValue: () => Knex.Value): void | Later {
    if (this.#options.coalesce || !this.#statements.canWriteNow(knex)) return LATER;
    const now = Date.now();
    const expires = liveExpiry(session, now, this.#options.ttl);
    if (expires === undefined) return this.#destroyExpired(knex, sid);
    if (this.#touches.skip(sid, now)) return;
    const changed = this.#statements.touchNow(knex, this.#codec.key(sid), this.#expiry.encode(expires), nowValue());
    if (changed !== undefined && changed > 0) this.#touches.wrote(sid, now);
  }

  #destroyExpired(knex: Knex, sid: string): undefined {
    this.#touches.forget(sid);
    this.#statements.destroyNow(knex, this.#codec.key(sid));
    return undefined;
  }
}
