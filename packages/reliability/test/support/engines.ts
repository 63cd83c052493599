import { randomBytes } from 'node:crypto';
import { knex as createKnex, type Knex } from 'knex';
import { MysqlStore } from '@csk/mysql';
import { PostgresStore } from '@csk/postgres';
import type { KnexStore, KnexStoreOptions } from '@csk/core';

/** A live engine the fault tests run on. */
export interface Engine {
  /** As the figures name it. */
  readonly name: string;
  /** The environment variable naming its server. */
  readonly variable: 'CSK_PG_URL' | 'CSK_MYSQL_URL';
  readonly client: 'pg' | 'mysql2';
  /** Host and port of the server, for the proxy. */
  target(url: string): { host: string; port: number };
  /** The connection object of the server, optionally at another host port (the proxy's). */
  connection(url: string, port?: number): Record<string, unknown>;
  createStore(options: KnexStoreOptions): KnexStore;
}

/** The parts of a `scheme://user:password@host:port/database` URL. */
function parseUrl(url: string, defaultPort: number) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || defaultPort),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

export const postgres: Engine = {
  name: 'PostgreSQL 15',
  variable: 'CSK_PG_URL',
  client: 'pg',
  target: (url) => {
    const { host, port } = parseUrl(url, 5432);
    return { host, port };
  },
  connection: (url, port) => ({ ...parseUrl(url, 5432), ...(port !== undefined && { port }) }),
  createStore: (options) => new PostgresStore(options),
};

export const mariadb: Engine = {
  name: 'MariaDB 10.11',
  variable: 'CSK_MYSQL_URL',
  client: 'mysql2',
  target: (url) => {
    const { host, port } = parseUrl(url, 3306);
    return { host, port };
  },
  connection: (url, port) => ({ ...parseUrl(url, 3306), ...(port !== undefined && { port }) }),
  createStore: (options) => new MysqlStore(options),
};

/** A knex straight to the engine's server (no proxy), for the test's own reads and setup. */
export function directKnex(engine: Engine, url: string, poolMax = 4): Knex {
  return createKnex({ client: engine.client, connection: engine.connection(url), pool: { min: 0, max: poolMax } });
}

/** A table name unique to one run, so that runs sharing a database never collide. */
export function uniqueTable(label: string): string {
  return `csk_rel_${label}_${randomBytes(4).toString('hex')}`;
}

/** Each stored session's counter (`n`) by sid, read directly from the table. */
export async function storedCounters(db: Knex, tableName: string, sids: string[]): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  if (sids.length === 0) return counters;
  const rows: Array<{ sid: string; sess: unknown }> = await db(tableName).select('sid', 'sess').whereIn('sid', sids);
  for (const row of rows) {
    const sess = (typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess) as { n?: unknown };
    counters.set(row.sid, Number(sess.n));
  }
  return counters;
}
