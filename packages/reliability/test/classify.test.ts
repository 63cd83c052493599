import { describe, expect, it } from '@jest/globals';
import { MysqlAdapter } from '@csk/mysql';
import { PostgresAdapter } from '@csk/postgres';

/** An error as a driver raises it: a message and the fields the driver sets. */
const driverError = (message: string, fields: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), fields);

describe('which errors mean "the database is out of reach" (the only ones that can lead to a disconnect)', () => {
  const pg = new PostgresAdapter();
  const mysql = new MysqlAdapter();

  it.each([
    ['refused', driverError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
    ['reset', driverError('read ECONNRESET', { code: 'ECONNRESET' })],
    ["node-postgres's ended socket", driverError('Connection terminated unexpectedly')],
    [
      "node-postgres's query on a client whose connection broke",
      driverError('Client has encountered a connection error and is not queryable'),
    ],
    ["node-postgres's query on a closed client", driverError('Client was closed and is not queryable')],
    ['an administrator ended the connection (57P01)', driverError('terminating connection', { code: '57P01' })],
    ['the server crashed (57P02)', driverError('terminating connection', { code: '57P02' })],
    ['the server is starting (57P03)', driverError('the database system is starting up', { code: '57P03' })],
    ['a connection exception (08006)', driverError('connection failure', { code: '08006' })],
  ])('PostgreSQL: %s is', (_, error) => expect(pg.classifyError(error)).toBe('unreachable'));

  it.each([
    ['a unique violation (23505)', driverError('duplicate key value', { code: '23505' })],
    ['a missing table (42P01)', driverError('relation "sessions" does not exist', { code: '42P01' })],
    ['a syntax error (42601)', driverError('syntax error at or near', { code: '42601' })],
    ['a deadlock (40P01)', driverError('deadlock detected', { code: '40P01' })],
    ['too many connections (53300): the server answered', driverError('too many clients', { code: '53300' })],
  ])('PostgreSQL: %s is not', (_, error) => expect(pg.classifyError(error)).not.toBe('unreachable'));

  it.each([
    ['refused', driverError('connect ECONNREFUSED 127.0.0.1:3306', { code: 'ECONNREFUSED', fatal: true })],
    ['lost', driverError('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST' })],
    ['any fatal error', driverError('Pool is closed.', { fatal: true })],
    ['a shutdown', driverError('Server shutdown in progress', { code: 'ER_SERVER_SHUTDOWN', errno: 1053 })],
    ['a killed connection', driverError('Connection was killed', { code: 'ER_CONNECTION_KILLED', errno: 1927 })],
    [
      'a Galera node outside the primary component (1047)',
      driverError('WSREP has not yet prepared node for application use', { code: 'ER_UNKNOWN_COM_ERROR', errno: 1047 }),
    ],
    [
      "the fast path's read on such a node, which cannot wait for the cluster",
      driverError('the Galera node is not ready (wsrep_ready OFF): Lock wait timeout exceeded', {
        code: 'CSK_WSREP_NOT_READY',
      }),
    ],
  ])('MySQL/MariaDB: %s is', (_, error) => expect(mysql.classifyError(error)).toBe('unreachable'));

  it.each([
    ['a duplicate key', driverError("Duplicate entry 'a' for key 'PRIMARY'", { code: 'ER_DUP_ENTRY', errno: 1062 })],
    ['a missing table', driverError("Table 'test.sessions' doesn't exist", { code: 'ER_NO_SUCH_TABLE', errno: 1146 })],
    ['a lock wait timeout', driverError('Lock wait timeout exceeded', { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 })],
  ])('MySQL/MariaDB: %s is not', (_, error) => expect(mysql.classifyError(error)).not.toBe('unreachable'));
});

describe('which errors mean "the statement lost a conflict and may run again" (retried by the store)', () => {
  const pg = new PostgresAdapter();
  const mysql = new MysqlAdapter();

  it.each([
    ['a serialization failure (40001)', driverError('could not serialize access', { code: '40001' })],
    ['a deadlock (40P01)', driverError('deadlock detected', { code: '40P01' })],
  ])('PostgreSQL: %s is', (_, error) => expect(pg.classifyError(error)).toBe('conflict'));

  it.each([
    ['a unique violation (23505)', driverError('duplicate key value', { code: '23505' })],
    ['a refused connection', driverError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
    ['a lock not available (55P03)', driverError('could not obtain lock', { code: '55P03' })],
  ])('PostgreSQL: %s is not', (_, error) => expect(pg.classifyError(error)).not.toBe('conflict'));

  it.each([
    [
      'a deadlock or Galera certification conflict (1213)',
      driverError('Deadlock found when trying to get lock; try restarting transaction', {
        code: 'ER_LOCK_DEADLOCK',
        errno: 1213,
        sqlState: '40001',
      }),
    ],
    ['a lock wait timeout (1205)', driverError('Lock wait timeout exceeded', { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 })],
  ])('MySQL/MariaDB: %s is', (_, error) => expect(mysql.classifyError(error)).toBe('conflict'));

  it.each([
    ['a duplicate key', driverError("Duplicate entry 'a' for key 'PRIMARY'", { code: 'ER_DUP_ENTRY', errno: 1062 })],
    [
      'a Galera node outside the primary component (1047)',
      driverError('WSREP has not yet prepared node for application use', { code: 'ER_UNKNOWN_COM_ERROR', errno: 1047 }),
    ],
  ])('MySQL/MariaDB: %s is not', (_, error) => expect(mysql.classifyError(error)).not.toBe('conflict'));
});
