import { afterAll, beforeAll } from '@jest/globals';
import type { Knex } from 'knex';
import type { KnexStore, KnexStoreOptions } from '@csk/core';
import type { SuiteContext } from './target.js';
import { randomId, SECOND, uniqueTableName } from './util.js';

/** A row as read straight from the table, decoded the same way for every engine. */
export interface RawRow {
  sid: string;
  /** The stored session, parsed when the driver returns JSON text. */
  sess: unknown;
  /** The stored expiry in milliseconds since the epoch. */
  expiresMs: number;
}

/** Options of {@link useScope}. */
export interface ScopeOptions {
  /** A word in the table name, to tell the suite's tables apart when debugging. */
  label: string;
  /** The table name (default: a unique `csk_conf_<label>_<random>`). */
  tableName?: string;
  /** The sid column (default `'sid'`). */
  sidColumn?: string;
  /** Options of the scope's main store. */
  storeOptions?: Partial<KnexStoreOptions>;
}

/** A describe block's own table, its main store, and raw access to its rows. */
export interface Scope {
  readonly tableName: string;
  readonly sidColumn: string;
  /** The suite's knex. */
  readonly knex: Knex;
  /** The main store on the scope's table (ready before the first test). */
  readonly store: KnexStore;
  /**
   * The largest difference between an expiry written through `encodeExpiry` and what the column returns: 0 when it
   * keeps milliseconds, a second when it does not. Measured once, in beforeAll.
   */
  readonly expiryTolerance: number;
  /** A new store (closed in afterAll); defaults to the scope's table and no background prune. */
  open(options?: Partial<KnexStoreOptions>): KnexStore;
  /** A new unique table name, dropped in afterAll. */
  newTableName(label: string): string;
  /** A new sid unique to this run. */
  sid(prefix?: string): string;
  /** A query builder on a table (the scope's by default), through knex only. */
  table(tableName?: string): Knex.QueryBuilder;
  /** Write a row directly, bypassing the store (used for expired rows and legacy shapes). */
  writeRow(sid: string, sess: unknown, expiresMs: number, tableName?: string): Promise<void>;
  /** Write many rows directly, in chunks every engine accepts. */
  writeRows(rows: Array<{ sid: string; sess: unknown; expiresMs: number }>, tableName?: string): Promise<void>;
  /** Read a row directly. */
  readRow(sid: string, tableName?: string): Promise<RawRow | undefined>;
  /** Read every row directly, sorted by sid. */
  readRows(tableName?: string): Promise<RawRow[]>;
  /** Delete every row directly. */
  empty(tableName?: string): Promise<void>;
}

/** Decode a stored expiry value (Date, ISO text, or epoch number) into milliseconds. */
export function expiryMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return /^-?\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.NaN;
}

/** Decode a stored session value (JSON text, a Buffer, or an object the driver already parsed). */
export function sessionValue(value: unknown): unknown {
  if (typeof value === 'string') return JSON.parse(value);
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8'));
  return value;
}

/**
 * Register beforeAll/afterAll hooks giving the current describe block its own table and main store; afterAll closes
 * every store the scope opened and drops every table it named.
 */
export function useScope(ctx: SuiteContext, options: ScopeOptions): Scope {
  const tableName = options.tableName ?? uniqueTableName(options.label);
  const sidColumn = options.sidColumn ?? 'sid';
  const tables = [tableName];
  const stores: KnexStore[] = [];
  let main: KnexStore | undefined;
  let tolerance = 0;
  let sidCounter = 0;

  const open = (storeOptions: Partial<KnexStoreOptions> = {}): KnexStore => {
    const store = ctx.target.createStore({
      tableName,
      ...(sidColumn === 'sid' ? {} : { sidFieldName: sidColumn }),
      cleanupInterval: 0,
      ...storeOptions,
      knex: ctx.knex,
    });
    stores.push(store);
    return store;
  };

  const table = (name = tableName): Knex.QueryBuilder => ctx.knex.table(name);
  const encode = (ms: number): Knex.Value => scope.store.adapter.encodeExpiry(ms, scope.store.knex);
  const toRow = (row: Record<string, unknown>): RawRow => ({
    sid: String(row[sidColumn]),
    sess: sessionValue(row.sess),
    expiresMs: expiryMs(row.expired),
  });
  const rowValues = (sid: string, sess: unknown, expiresMs: number): Record<string, unknown> => ({
    [sidColumn]: sid,
    sess: typeof sess === 'string' ? sess : JSON.stringify(sess),
    expired: encode(expiresMs),
  });

  const scope: Scope = {
    tableName,
    sidColumn,
    get knex() {
      return ctx.knex;
    },
    get store() {
      if (!main) throw new Error('the scope store is only available inside tests');
      return main;
    },
    get expiryTolerance() {
      return tolerance;
    },
    open,
    newTableName(label) {
      const name = uniqueTableName(label);
      tables.push(name);
      return name;
    },
    sid(prefix = 'sid') {
      sidCounter += 1;
      return `${prefix}-${randomId(6)}-${sidCounter}`;
    },
    table,
    async writeRow(sid, sess, expiresMs, name) {
      await table(name).insert(rowValues(sid, sess, expiresMs));
    },
    async writeRows(rows, name) {
      // 100 rows of 3 values stay under every engine's bind-parameter and compound-select limits.
      for (let i = 0; i < rows.length; i += 100) {
        await table(name).insert(rows.slice(i, i + 100).map((row) => rowValues(row.sid, row.sess, row.expiresMs)));
      }
    },
    async readRow(sid, name) {
      const row = (await table(name).where(sidColumn, sid).first()) as Record<string, unknown> | undefined;
      return row ? toRow(row) : undefined;
    },
    async readRows(name) {
      const rows = (await table(name).select()) as Array<Record<string, unknown>>;
      return rows.map(toRow).sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    },
    async empty(name) {
      await table(name).del();
    },
  };

  beforeAll(async () => {
    main = open(options.storeOptions);
    await main.ready;
    // Find out what the column keeps: a directly written expiry with milliseconds, read straight back.
    const probe = `probe-${randomId()}`;
    const probeMs = Date.UTC(2031, 4, 6, 7, 8, 9, 123);
    await scope.writeRow(probe, {}, probeMs);
    const stored = (await scope.readRow(probe))?.expiresMs;
    await table().where(sidColumn, probe).del();
    tolerance = stored === probeMs ? 0 : SECOND;
  });

  afterAll(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    for (const name of tables) await ctx.knex.schema.dropTableIfExists(name);
  });

  return scope;
}
