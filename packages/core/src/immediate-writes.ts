import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { LATER, type Later } from './later.js';
import type { ResolvedOptions } from './options.js';
import type { SessionCodec } from './session-codec.js';
import type { SessionStatements } from './session-statements.js';
import type { SetEvent } from './store-events.js';
import type { TouchPlan, WritePlanner } from './write-plan.js';

/** The options {@link ImmediateWrites} reads. */
type ImmediateWritesOptions = Pick<ResolvedOptions, 'serializer'> & {
  /** The `coalesce` option, resolved: its batches then carry every call. */
  readonly coalesce: boolean;
};

/**
 * `StoredSessions.read`, `write` and `touch` carried out at once, synchronously, when the statement can run now (a driver
 * whose calls are synchronous, and a connection already in hand: see `SessionStatements.canWriteNow`). A write or touch
 * follows the same {@link WritePlanner} plan as the ordinary path, so the steps, their order and their errors are the
 * same; only the waiting is gone. Each returns {@link LATER}, having done nothing, when it cannot finish now: before
 * any of the application's code (a serializer, `columns`) has run. One exception: a statement that lost a conflict
 * (another process held the database) is sent again by the ordinary path, with its retries, which runs the whole write
 * again, `columns` functions included.
 */
export class ImmediateWrites {
  readonly #options: ImmediateWritesOptions;
  readonly #codec: SessionCodec;
  readonly #statements: SessionStatements;
  readonly #plans: WritePlanner;

  constructor(
    options: ImmediateWritesOptions,
    parts: { codec: SessionCodec; statements: SessionStatements; plans: WritePlanner },
  ) {
    this.#options = options;
    this.#codec = parts.codec;
    this.#statements = parts.statements;
    this.#plans = parts.plans;
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
    if (session === undefined) return LATER;
    return this.#plans.read(sid, session, row.expires);
  }

  /** As `StoredSessions.write`. A serializer's text may come later: such a store always waits. */
  write(knex: Knex, sid: string, session: SessionData): SetEvent | undefined | Later {
    if (this.#options.serializer || this.#options.coalesce || !this.#statements.canWriteNow(knex)) return LATER;
    const key = this.#codec.key(sid);
    const plan = this.#plans.write(sid, session, key, this.#codec.encode(session, key) as string);
    if (plan.row === undefined) return this.#destroyExpired(knex, key);
    this.#statements.upsertNow(knex, plan.row);
    return this.#plans.wrote(sid, plan);
  }

  /** As `StoredSessions.touch`. */
  touch(knex: Knex, sid: string, plan: TouchPlan, nowValue: () => Knex.Value): void | Later {
    if (this.#options.coalesce || !this.#statements.canWriteNow(knex)) return LATER;
    if (plan.expired === undefined) return this.#destroyExpired(knex, plan.key);
    this.#plans.touched(sid, plan, this.#statements.touchNow(knex, plan.key, plan.expired, nowValue()));
  }

  #destroyExpired(knex: Knex, key: string): undefined {
    this.#statements.destroyNow(knex, key);
    return undefined;
  }
}
