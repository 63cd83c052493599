import { randomBytes } from 'node:crypto';
import { knex as createKnex, type Knex } from 'knex';
import { MysqlStore } from '@csk/mysql';
import { PostgresStore } from '@csk/postgres';
import type { KnexStore, KnexStoreOptions } from '@csk/core';
import { serverAddress } from '@csk/conformance/scenarios/live';

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

/** An engine whose server is named by `variable`, at `defaultPort` when its URL names none. */
function engine(
  name: string,
  variable: Engine['variable'],
  client: Engine['client'],
  defaultPort: number,
  createStore: Engine['createStore'],
): Engine {
  return {
    name,
    variable,
    client,
    target: (url) => {
      const { host, port } = serverAddress(url, defaultPort);
      return { host, port };
    },
    connection: (url, port) => ({ ...serverAddress(url, defaultPort), ...(port !== undefined && { port }) }),
    createStore,
  };
}

export const postgres = engine('PostgreSQL 15', 'CSK_PG_URL', 'pg', 5432, (options) => new PostgresStore(options));
export const mariadb = engine('MariaDB 10.11', 'CSK_MYSQL_URL', 'mysql2', 3306, (options) => new MysqlStore(options));

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
