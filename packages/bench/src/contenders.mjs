// Every contender: how to build its store on the shared databases, each in a table (or SQLite file) of its own.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { MysqlStore } from '@csk/mysql';
import { PostgresStore } from '@csk/postgres';
import { SqliteStore } from '@csk/sqlite';
import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import { ConnectSessionKnexStore as V5Store } from 'connect-session-knex-v5';
import session from 'express-session';
import expressMysqlSession from 'express-mysql-session';
import knex from 'knex';
import mysql from 'mysql2';
import pg from 'pg';
import { createClient } from 'redis';
import { IDLE_MS, MYSQL_URL, PG_URL, REDIS_URL, POOL_SIZE, WORK_DIR, mysqlOptions } from './config.mjs';
import { applySqlitePragmas, createFloor } from './floor.mjs';

const PgSimpleStore = connectPgSimple(session);
const MysqlSessionStore = expressMysqlSession(session);

/** The knex config each knex-based contender of `dialect` gets: the same pool size, the same SQLite pragmas. */
function knexConfig(dialect, filename) {
  const pool = { min: 0, max: POOL_SIZE, idleTimeoutMillis: IDLE_MS };
  if (dialect === 'postgresql') return { client: 'pg', connection: PG_URL, pool };
  if (dialect === 'mysql') return { client: 'mysql2', connection: mysqlOptions(MYSQL_URL), pool };
  return {
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      afterCreate(connection, done) {
        applySqlitePragmas(connection);
        done(null, connection);
      },
    },
  };
}

const sqliteFile = (id) => path.join(WORK_DIR, `${id}.sqlite`);
const tableOf = (id) => `bench_${id.replace(/[^a-z0-9]+/g, '_')}`;

/** A store of ours on a knex handed to it, as an application would build it. */
function ours(dialect, Store, extra = {}) {
  return async ({ id, touchAfter }) => {
    const db = knex(knexConfig(dialect, sqliteFile(id)));
    const store = new Store({ knex: db, tableName: tableOf(id), cleanupInterval: 0, ...(touchAfter && { touchAfter }), ...extra });
    await store.ready;
    return {
      store,
      close: async () => {
        await store.close();
        await db.destroy();
      },
    };
  };
}

/** connect-session-knex 5, as published, on a knex handed to it. */
function v5(dialect) {
  return async ({ id }) => {
    const db = knex(knexConfig(dialect, sqliteFile(id)));
    const store = new V5Store({ knex: db, tableName: tableOf(id), cleanupInterval: 0 });
    await store.ready;
    return { store, close: () => db.destroy() };
  };
}

/** A store that opens its own default database (SQLite in the working directory), as each package documents. */
function ownDefault(Store) {
  return async ({ id }) => {
    const dir = path.join(WORK_DIR, id);
    mkdirSync(dir, { recursive: true });
    process.chdir(dir);
    const store = Store === V5Store ? new V5Store({ cleanupInterval: 0 }) : new Store({ cleanupInterval: 0 });
    await store.ready;
    return { store, close: () => (Store === V5Store ? store.options.knex.destroy() : store.close()) };
  };
}

/**
 * The contenders, grouped by database. `role` is what the ratios are taken against: `floor` (the raw driver), `ours`,
 * a `peer`, `v5` (the published connect-session-knex 5) or `memory` (express-session's MemoryStore, the ceiling).
 * `touchAfter` marks ours with touch throttling (the /read with touchAfter scenario).
 */
export const CONTENDERS = [
  {
    id: 'memory',
    label: 'MemoryStore',
    dialect: 'memory',
    role: 'memory',
    create: async () => ({ store: new session.MemoryStore(), close: async () => {} }),
  },
  {
    // The store people pick instead of SQL: one connection (node-redis pipelines every command on it).
    id: 'redis',
    label: 'connect-redis 9',
    dialect: 'redis',
    role: 'redis',
    create: async ({ id }) => {
      const client = createClient({ url: REDIS_URL });
      client.on('error', (error) => console.error(`[${id}] redis: ${error.message}`));
      await client.connect();
      const store = new RedisStore({ client, prefix: `${tableOf(id)}:` });
      return { store, close: () => client.close() };
    },
  },
  {
    id: 'pg-floor',
    label: 'pg (raw floor)',
    dialect: 'postgresql',
    role: 'floor',
    create: ({ id }) => createFloor('postgresql', { table: tableOf(id) }),
  },
  { id: 'pg-ours', label: '@csk/postgres', dialect: 'postgresql', role: 'ours', create: ours('postgresql', PostgresStore) },
  {
    id: 'pg-ours-single',
    label: '@csk/postgres, coalesce: false',
    dialect: 'postgresql',
    role: 'ours-option',
    create: ours('postgresql', PostgresStore, { coalesce: false }),
  },
  {
    id: 'pg-simple',
    label: 'connect-pg-simple 10',
    dialect: 'postgresql',
    role: 'peer',
    create: async ({ id }) => {
      const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_SIZE, idleTimeoutMillis: IDLE_MS });
      const store = new PgSimpleStore({ pool, tableName: tableOf(id), createTableIfMissing: true, pruneSessionInterval: false });
      // connect-pg-simple creates its table on first use: do it now, outside the measurement.
      await new Promise((resolve, reject) => store.get('warm-up', (error) => (error ? reject(error) : resolve())));
      return { store, close: () => pool.end() };
    },
  },
  { id: 'pg-v5', label: 'connect-session-knex 5', dialect: 'postgresql', role: 'v5', create: v5('postgresql') },
  {
    id: 'my-floor',
    label: 'mysql2 (raw floor)',
    dialect: 'mysql',
    role: 'floor',
    create: ({ id }) => createFloor('mysql', { table: tableOf(id) }),
  },
  { id: 'my-ours', label: '@csk/mysql', dialect: 'mysql', role: 'ours', create: ours('mysql', MysqlStore) },
  {
    id: 'my-ours-single',
    label: '@csk/mysql, coalesce: false',
    dialect: 'mysql',
    role: 'ours-option',
    create: ours('mysql', MysqlStore, { coalesce: false }),
  },
  {
    id: 'my-session',
    label: 'express-mysql-session 3',
    dialect: 'mysql',
    role: 'peer',
    create: async ({ id }) => {
      const pool = mysql.createPool({ ...mysqlOptions(MYSQL_URL), connectionLimit: POOL_SIZE, idleTimeout: IDLE_MS });
      const store = new MysqlSessionStore(
        { clearExpired: false, createDatabaseTable: true, schema: { tableName: tableOf(id) } },
        pool,
      );
      await store.onReady();
      return { store, close: () => pool.promise().end() };
    },
  },
  { id: 'my-v5', label: 'connect-session-knex 5', dialect: 'mysql', role: 'v5', create: v5('mysql') },
  {
    id: 'sq-floor',
    label: 'better-sqlite3 (raw floor)',
    dialect: 'sqlite',
    role: 'floor',
    create: ({ id }) => createFloor('sqlite', { table: tableOf(id), filename: sqliteFile(id) }),
  },
  { id: 'sq-ours', label: '@csk/sqlite', dialect: 'sqlite', role: 'ours', create: ours('sqlite', SqliteStore) },
  { id: 'sq-v5', label: 'connect-session-knex 5', dialect: 'sqlite', role: 'v5', create: v5('sqlite') },
  {
    id: 'sq-ours-default',
    label: '@csk/sqlite, own file',
    dialect: 'sqlite-default',
    role: 'ours',
    create: ownDefault(SqliteStore),
  },
  {
    id: 'sq-v5-default',
    label: 'connect-session-knex 5, own file',
    dialect: 'sqlite-default',
    role: 'v5',
    create: ownDefault(V5Store),
  },
];

/** The contender of `id`. */
export function contender(id) {
  const found = CONTENDERS.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no contender ${id}`);
  return found;
}

/** The table (or SQLite file stem) of contender `id`, so that the runner can drop it before and after. */
export { tableOf, sqliteFile };
