import type { Knex } from 'knex';
import { BaseDialectAdapter, type SessionRow, type SessionTable } from '../../src/index.js';

/** One request the adapter received, with the values core handed it. */
export type RecordedCall =
  | { readonly method: 'defineTable'; readonly table: SessionTable }
  | { readonly method: 'upsert'; readonly row: SessionRow }
  | { readonly method: 'deleteExpired'; readonly now: Knex.Value; readonly limit: number };

type Method = RecordedCall['method'];

/** Settings of a {@link RecordingAdapter}. */
export interface RecordingAdapterSettings {
  /** Restrict the knex dialects the adapter accepts (default: any). */
  readonly dialects?: readonly string[];
  /** Give the adapter a default knex, which the store then owns. */
  readonly createDefaultKnex?: () => Knex;
}

/**
 * A dialect adapter for core's own tests. Expiry is stored as integer epoch MICROseconds in a bigint column, an
 * encoding no real dialect uses, so a test passes only if core sends every stored and compared time through
 * `encodeExpiry` and never reads one back itself. It records what it is asked and delegates to the base
 * implementation; `before()` makes a call fail or wait.
 */
export class RecordingAdapter extends BaseDialectAdapter {
  override readonly name = 'recording';
  override readonly dialects: readonly string[] | undefined;
  readonly calls: RecordedCall[] = [];
  readonly #hooks = new Map<Method, Array<() => unknown>>();

  constructor(settings: RecordingAdapterSettings = {}) {
    super();
    this.dialects = settings.dialects;
    if (settings.createDefaultKnex) this.createDefaultKnex = settings.createDefaultKnex;
  }

  /** Run `hook` at the start of the next `method` call: throw in it to fail the call, return a promise to pause it. */
  before(method: Method, hook: () => unknown): this {
    this.#hooks.set(method, [...(this.#hooks.get(method) ?? []), hook]);
    return this;
  }

  /** The calls of one method, in order. */
  callsOf<M extends Method>(method: M): Extract<RecordedCall, { method: M }>[] {
    return this.calls.filter((call): call is Extract<RecordedCall, { method: M }> => call.method === method);
  }

  /** The inverse of {@link encodeExpiry}, for tests reading rows directly. */
  decodeExpiry(value: unknown): number {
    return Number(value) / 1000;
  }

  override encodeExpiry(ms: number): Knex.Value {
    return Math.round(ms * 1000);
  }

  /** Milliseconds, as core decodes a read expiry: the division is the database's, core never sees microseconds. */
  override readExpiry(knex: Knex, column: string): Knex.Raw {
    return knex.raw('?? / 1000.0', [column]);
  }

  override defineTable(table: Knex.CreateTableBuilder, names: SessionTable): void {
    this.calls.push({ method: 'defineTable', table: names });
    this.#hooks.get('defineTable')?.shift()?.();
    super.defineTable(table, names);
  }

  protected override defineSess(table: Knex.CreateTableBuilder, column: string): void {
    table.text(column).notNullable();
  }

  protected override defineTimestamp(table: Knex.CreateTableBuilder, column: string): void {
    table.bigInteger(column).notNullable().index();
  }

  override async upsert(knex: Knex, table: SessionTable, row: SessionRow): Promise<void> {
    this.calls.push({ method: 'upsert', row });
    await this.#hooks.get('upsert')?.shift()?.();
    await super.upsert(knex, table, row);
  }

  override async deleteExpired(knex: Knex, table: SessionTable, now: Knex.Value, limit: number): Promise<number> {
    this.calls.push({ method: 'deleteExpired', now, limit });
    await this.#hooks.get('deleteExpired')?.shift()?.();
    return super.deleteExpired(knex, table, now, limit);
  }
}
