// The shared databases: which are reachable, and dropping every bench table (and SQLite file) between runs.
import { mkdirSync, rmSync } from 'node:fs';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createClient } from 'redis';
import { MYSQL_URL, PG_URL, REDIS_URL, WORK_DIR, mysqlOptions } from './config.mjs';

/** Every bench table's name starts with this. */
const PREFIX = 'bench_';

async function withPostgres(body) {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

async function withMysql(body) {
  const connection = await mysql.createConnection({ ...mysqlOptions(MYSQL_URL), connectTimeout: 3000 });
  try {
    return await body(connection);
  } finally {
    await connection.end();
  }
}

async function withRedis(body) {
  // No reconnection: a server that does not answer is reported once, not retried.
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

/** The server version of each reachable database (`undefined` for one that is not reachable). */
export async function probeDatabases() {
  // The contenders' synchronous_commit beside the version: whether a PostgreSQL commit waited for the disk.
  const postgresql = await withPostgres(async (client) => {
    const { rows } = await client.query("select version() as v, current_setting('synchronous_commit') as sc");
    return `${rows[0].v.split(' on ')[0]}, synchronous_commit ${rows[0].sc}`;
  }).catch(() => undefined);
  const mysqlVersion = await withMysql(async (connection) => (await connection.query('select version() as v'))[0][0].v).catch(
    () => undefined,
  );
  const redis = await withRedis(async (client) => `Redis ${/redis_version:(\S+)/.exec(await client.info('server'))?.[1]}`).catch(
    () => undefined,
  );
  return { postgresql, mysql: mysqlVersion, redis };
}

/** Drop every bench table on the reachable servers and start the SQLite work folder afresh. */
export async function resetDatabases(available) {
  if (available.postgresql) {
    await withPostgres(async (client) => {
      const { rows } = await client.query(
        "select tablename from pg_tables where schemaname = current_schema() and tablename like 'bench\\_%'",
      );
      for (const { tablename } of rows) await client.query(`drop table if exists "${tablename}"`);
    });
  }
  if (available.mysql) {
    await withMysql(async (connection) => {
      const [rows] = await connection.query(
        "select table_name as name from information_schema.tables where table_schema = database() and table_name like 'bench\\_%'",
      );
      for (const { name } of rows) await connection.query(`drop table if exists \`${name}\``);
    });
  }
  if (available.redis) {
    await withRedis(async (client) => {
      // Bounded: one SCAN pass over the keyspace, deleting the bench's keys as it goes.
      for await (const keys of client.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) {
        if (keys.length > 0) await client.del(keys);
      }
    });
  }
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
}

export { PREFIX };
