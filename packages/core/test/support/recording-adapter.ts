import type { Knex } from 'knex';
import {
  BaseDialectAdapter,
  PORTABLE_CAPABILITIES,
  PORTABLE_CATALOG,
  PORTABLE_COLUMNS,
  type ColumnTypes,
  type DialectCapabilities,
  type SessionRow,
  type SessionTable,
  type TableCatalog,
} from '../../src/index.js';

/** One request the store made, with the values core handed over. */
export type RecordedCall =
  | { readonly method: 'defineTable'; readonly table: string }
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

interface QueryObject {
  readonly method?: string;
  readonly sql?: string;
  readonly bindings?: readonly unknown[];
}
type QueryFn = (this: { config: object }, connection: unknown, query: QueryObject) => Promise<unknown>;

/** The adapter watching each knex (by its config, which a transaction's client shares). */
const watchers = new WeakMap<object, RecordingAdapter>();
const patched = new WeakSet<object>();

/** Milliseconds, as core decodes a read expiry: the division is the database's, core never sees microseconds. */
export const RECORDING_CATALOG: TableCatalog = {
  ...PORTABLE_CATALOG,
  readExpiry: (knex: Knex, column: string) => knex.raw('?? / 1000.0', [column]),
};

/** A prune batch's DELETE: `… where expired <= ? …`. */
const isPruneDelete = (query: QueryObject): boolean => query.method === 'del' && /<=/.test(query.sql ?? '');

/**
 * A dialect adapter for core's own tests. Expiry is stored as integer epoch MICROseconds in a bigint column, an
 * encoding no real dialect uses, so a test passes only if core sends every stored and compared time through
 * `encodeExpiry` and never reads one back itself. It records the table creations, upserts and prune deletes the store
 * runs (the deletes through {@link RecordingAdapter.watch}); `before()` makes one fail or wait.
 */
export class RecordingAdapter extends BaseDialectAdapter {
  override readonly name = 'recording';
  override readonly capabilities: DialectCapabilities;
  readonly calls: RecordedCall[] = [];
  readonly #hooks = new Map<Method, Array<() => unknown>>();

  constructor(settings: RecordingAdapterSettings = {}) {
    super();
    this.capabilities = { ...PORTABLE_CAPABILITIES, dialects: settings.dialects };
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

  /** Record the prune's deletes sent through `knex` (and its transactions) as `deleteExpired` calls. */
  watch(knex: Knex): void {
    watchers.set(knex.client.config as object, this);
    const proto = Object.getPrototypeOf(knex.client) as { query: QueryFn };
    if (patched.has(proto)) return;
    patched.add(proto);
    const original = proto.query;
    proto.query = async function (this: { config: object }, connection, query) {
      const watcher = watchers.get(this.config);
      if (watcher && isPruneDelete(query)) {
        const bindings = query.bindings ?? [];
        await watcher.#enter({ method: 'deleteExpired', now: bindings[0] as Knex.Value, limit: Number(bindings.at(-1)) });
      }
      return original.call(this, connection, query);
    };
  }

  /** The inverse of {@link encodeExpiry}, for tests reading rows directly. */
  decodeExpiry(value: unknown): number {
    return Number(value) / 1000;
  }

  override encodeExpiry(ms: number): Knex.Value {
    return Math.round(ms * 1000);
  }

  override readonly catalog: TableCatalog = RECORDING_CATALOG;

  override readonly columns: ColumnTypes = {
    ...PORTABLE_COLUMNS,
    table: (builder) => {
      this.calls.push({ method: 'defineTable', table: (builder as unknown as { _tableName: string })._tableName });
      this.#hooks.get('defineTable')?.shift()?.();
    },
    sess: (builder, column) => builder.text(column),
    timestamp: (builder, column) => builder.bigInteger(column),
  };

  /** The upsert, recorded (and hooked) when it runs, not when the fast path compiles it. */
  override upsert(knex: Knex, table: SessionTable, row: SessionRow): Knex.QueryBuilder | Knex.Raw {
    const query = super.upsert(knex, table, row);
    const run = query.then.bind(query);
    return new Proxy(query, {
      get: (target, key, receiver) =>
        key === 'then'
          ? (resolve?: (value: unknown) => unknown, reject?: (error: unknown) => unknown) =>
              this.#enter({ method: 'upsert', row }).then(() => run(resolve, reject), reject)
          : Reflect.get(target, key, receiver),
    });
  }

  /** Record `call` and run its hook, if any. */
  async #enter(call: RecordedCall): Promise<void> {
    this.calls.push(call);
    await this.#hooks.get(call.method)?.shift()?.();
  }
}
