// The raw-driver floor: the same single statements our stores send (same table shape, same expiry encoding), sent
// straight through pg, mysql2 and better-sqlite3 as prepared statements, with no store logic at all (no validation,
// no expiry rules beyond reading the cookie, no error wrapping). It is wrapped in the Store interface only so that
// express-session can drive it in the HTTP scenarios. Nothing can do the same work with fewer steps.
import Database from 'better-sqlite3';
import session from 'express-session';
import mysql from 'mysql2';
import pg from 'pg';
import { DAY_MS, IDLE_MS, MYSQL_URL, PG_URL, POOL_SIZE, mysqlOptions } from './config.mjs';

/** The expiry as our stores write it: one a minute or more away rounded up to the whole second. */
const expiryOf = (sess) => {
  const now = Date.now();
  const ms = sess.cookie?.expires ? new Date(sess.cookie.expires).getTime() : now + DAY_MS;
  return ms - now >= 60_000 ? Math.ceil(ms / 1000) * 1000 : ms;
};
const isoText = (ms) => new Date(ms).toISOString();
const mysqlText = (ms) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

/** The floor on PostgreSQL: a pg.Pool and named (server-side prepared) statements. */
class PostgresFloor {
  constructor(table) {
    this.pool = new pg.Pool({ connectionString: PG_URL, max: POOL_SIZE, idleTimeoutMillis: IDLE_MS });
    const t = `"${table}"`;
    this.ddl = [
      `create table if not exists ${t} (sid varchar(255) primary key, sess json not null, expired timestamptz not null)`,
      `create index if not exists "${table}_expired_index" on ${t} (expired)`,
    ];
    this.getQuery = { name: 'floor_get', text: `select sess from ${t} where sid = $1 and expired > $2`, rowMode: 'array' };
    this.setText =
      `insert into ${t} (sid, sess, expired) values ($1, $2, $3) ` +
      'on conflict (sid) do update set sess = excluded.sess, expired = excluded.expired';
    this.touchText = `update ${t} set expired = $1 where sid = $2 and expired > $3 and expired <> $1`;
    this.destroyText = `delete from ${t} where sid = $1`;
  }
  async setup() {
    for (const sql of this.ddl) await this.pool.query(sql);
  }
  get(sid, callback) {
    this.pool.query({ ...this.getQuery, values: [sid, isoText(Date.now())] }).then(
      (result) => callback(null, result.rows.length ? result.rows[0][0] : null),
      callback,
    );
  }
  set(sid, sess, callback) {
    const values = [sid, JSON.stringify(sess), isoText(expiryOf(sess))];
    this.pool.query({ name: 'floor_set', text: this.setText, values }).then(() => callback(null), callback);
  }
  touch(sid, sess, callback) {
    const values = [isoText(expiryOf(sess)), sid, isoText(Date.now())];
    this.pool.query({ name: 'floor_touch', text: this.touchText, values }).then(() => callback(null), callback);
  }
  destroy(sid, callback) {
    this.pool.query({ name: 'floor_destroy', text: this.destroyText, values: [sid] }).then(() => callback(null), callback);
  }
  close() {
    return this.pool.end();
  }
}

/** The floor on MariaDB/MySQL: a mysql2 pool and `execute` (prepared statements, cached per connection). */
class MysqlFloor {
  constructor(table) {
    this.pool = mysql.createPool({ ...mysqlOptions(MYSQL_URL), connectionLimit: POOL_SIZE, idleTimeout: IDLE_MS });
    const t = `\`${table}\``;
    this.ddl = [
      `create table if not exists ${t} (sid varchar(255) collate utf8mb4_bin not null primary key, ` +
        'sess longtext not null, expired datetime(3) not null, index (expired)) default charset utf8mb4',
    ];
    this.getText = `select sess from ${t} where sid = ? and expired > ?`;
    this.setText =
      `insert into ${t} (sid, sess, expired) values (?, ?, ?) ` +
      'on duplicate key update sess = values(sess), expired = values(expired)';
    this.touchText = `update ${t} set expired = ? where sid = ? and expired > ? and expired <> ?`;
    this.destroyText = `delete from ${t} where sid = ?`;
  }
  async setup() {
    for (const sql of this.ddl) await this.pool.promise().query(sql);
  }
  get(sid, callback) {
    this.pool.execute({ sql: this.getText, rowsAsArray: true }, [sid, mysqlText(Date.now())], (error, rows) => {
      if (error) return callback(error);
      callback(null, rows.length ? JSON.parse(rows[0][0]) : null);
    });
  }
  set(sid, sess, callback) {
    this.pool.execute(this.setText, [sid, JSON.stringify(sess), mysqlText(expiryOf(sess))], (error) => callback(error));
  }
  touch(sid, sess, callback) {
    const expired = mysqlText(expiryOf(sess));
    this.pool.execute(this.touchText, [expired, sid, mysqlText(Date.now()), expired], (error) => callback(error));
  }
  destroy(sid, callback) {
    this.pool.execute(this.destroyText, [sid], (error) => callback(error));
  }
  close() {
    return this.pool.promise().end();
  }
}

/** The floor on SQLite: one better-sqlite3 connection and statements prepared once; every call is synchronous. */
class SqliteFloor {
  constructor(table, filename) {
    this.db = new Database(filename);
    applySqlitePragmas(this.db);
    const t = `"${table}"`;
    this.db.exec(
      `create table if not exists ${t} (sid varchar(255) primary key, sess json not null, expired datetime not null)`,
    );
    this.db.exec(`create index if not exists "${table}_expired_index" on ${t} (expired)`);
    this.getStatement = this.db.prepare(`select sess from ${t} where sid = ? and expired > ?`).pluck();
    this.setStatement = this.db.prepare(
      `insert into ${t} (sid, sess, expired) values (?, ?, ?) ` +
        'on conflict (sid) do update set sess = excluded.sess, expired = excluded.expired',
    );
    this.touchStatement = this.db.prepare(`update ${t} set expired = ? where sid = ? and expired > ? and expired <> ?`);
    this.destroyStatement = this.db.prepare(`delete from ${t} where sid = ?`);
  }
  async setup() {}
  get(sid, callback) {
    let sess;
    try {
      sess = this.getStatement.get(sid, isoText(Date.now()));
    } catch (error) {
      return callback(error);
    }
    callback(null, sess === undefined ? null : JSON.parse(sess));
  }
  set(sid, sess, callback) {
    this.#write(callback, () => this.setStatement.run(sid, JSON.stringify(sess), isoText(expiryOf(sess))));
  }
  touch(sid, sess, callback) {
    const expired = isoText(expiryOf(sess));
    this.#write(callback, () => this.touchStatement.run(expired, sid, isoText(Date.now()), expired));
  }
  destroy(sid, callback) {
    this.#write(callback, () => this.destroyStatement.run(sid));
  }
  #write(callback, run) {
    try {
      run();
    } catch (error) {
      return callback(error);
    }
    callback(null);
  }
  async close() {
    this.db.close();
  }
}

/**
 * The pragmas every SQLite contender that is handed a connection runs with: WAL, and `synchronous = NORMAL` (WAL's
 * usual companion: a commit is durable against a crash of the process, fsync happens at checkpoints).
 */
export function applySqlitePragmas(db) {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
}

/** A floor for `dialect`, as an express-session Store. */
export async function createFloor(dialect, { table, filename }) {
  const floor =
    dialect === 'postgresql'
      ? new PostgresFloor(table)
      : dialect === 'mysql'
        ? new MysqlFloor(table)
        : new SqliteFloor(table, filename);
  await floor.setup();
  const store = Object.assign(new session.Store(), {
    get: floor.get.bind(floor),
    set: floor.set.bind(floor),
    touch: floor.touch.bind(floor),
    destroy: floor.destroy.bind(floor),
  });
  return { store, close: () => floor.close() };
}
