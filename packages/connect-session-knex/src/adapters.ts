import type { DialectAdapter } from '@csk/core';
import { MssqlAdapter } from '@csk/mssql';
import { MysqlAdapter } from '@csk/mysql';
import { OracleAdapter } from '@csk/oracle';
import { PostgresAdapter } from '@csk/postgres';
import { SqliteAdapter } from '@csk/sqlite';
import { UnsupportedDialectError } from './errors.js';

/** Makes a fresh adapter for one store. */
export type AdapterFactory = () => DialectAdapter;

/** Each adapter with the names its knex clients go by. */
const ADAPTER_NAMES: ReadonlyArray<readonly [AdapterFactory, readonly string[]]> = [
  [() => new PostgresAdapter(), ['pg', 'postgres', 'postgresql', 'pgnative', 'cockroachdb']],
  [() => new MysqlAdapter(), ['mysql', 'mysql2', 'mariadb']],
  [() => new MssqlAdapter(), ['mssql']],
  [() => new OracleAdapter(), ['oracledb', 'oracle']],
  [() => new SqliteAdapter(), ['sqlite3', 'sqlite', 'better-sqlite3']],
];

/**
 * The adapter for each name a knex client goes by. Keys are the `client` strings knex 3 accepts (its
 * `SUPPORTED_CLIENTS`, aliases included) and, for a knex whose `client` is a Client class, the normalised
 * `client.dialect` and `client.driverName` values. Supporting a dialect is one line: its adapter and the names it goes by.
 *
 * The names knex 3.3 uses, by dialect: `pg`, `postgres`, `postgresql`, `pgnative` (dialect `postgresql`);
 * `mysql`, `mysql2`, `mariadb` (dialect `mysql`); `mssql`; `oracledb` (dialect `oracle`); `sqlite3`, `sqlite`,
 * `better-sqlite3` (dialect `sqlite3`); `cockroachdb` (dialect `postgresql`); `redshift` (dialect `redshift`).
 */
export const ADAPTERS: Readonly<Record<string, AdapterFactory>> = Object.freeze(
  Object.fromEntries(
    ADAPTER_NAMES.flatMap(([factory, names]) => names.map((name) => [name, factory])),
  ),
);
/** The part of a knex instance the lookup reads. */
export interface KnexClientLike {
  readonly client?: {
    readonly config?: { readonly client?: unknown };
    readonly dialect?: unknown;
    readonly driverName?: unknown;
  };
}

/** Every client name that has an adapter, sorted. */
export function supportedClients(): string[] {
  return Object.keys(ADAPTERS).sort();
}

function lookup(name: unknown): AdapterFactory | undefined {
  return typeof name === 'string' && Object.hasOwn(ADAPTERS, name) ? ADAPTERS[name] : undefined;
}

/**
 * The adapter for a knex instance: by its `client` option when that is a name; when it is a Client class (a
 * subclass of one of knex's, or a third-party one), by the class's `dialect`, then its `driverName`. A client
 * name without an entry is refused rather than matched on its dialect: clients that share a dialect do not always
 * share its SQL (knex reports `postgresql` for cockroachdb), so each name is listed only once an adapter is known to
 * serve it.
 *
 * @throws {UnsupportedDialectError} when nothing matches.
 */
export function selectAdapter(knex: KnexClientLike): DialectAdapter {
  const client = knex.client;
  const configured = client?.config?.client;
  if (typeof configured === 'string') {
    const factory = lookup(configured);
    if (!factory) throw new UnsupportedDialectError(configured, supportedClients());
    return factory();
  }
  const factory = lookup(client?.dialect) ?? lookup(client?.driverName);
  if (factory) return factory();
  const name =
    typeof configured === 'function' && configured.name ? configured.name : String(client?.dialect ?? 'unknown');
  const detail = `dialect "${String(client?.dialect)}", driver "${String(client?.driverName)}"`;
  throw new UnsupportedDialectError(name, supportedClients(), detail);
}
