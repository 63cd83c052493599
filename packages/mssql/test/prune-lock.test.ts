import type { PruneEvent } from '@csk/core';
import { MssqlAdapter, MssqlStore } from '@csk/mssql';
import { pruneLockResource } from '../src/mssql-adapter.js';
import { recordingSqlServer, type Responder } from './support/recording-sql-server.js';
import { SQL, PRUNE_LOCK_SQL, sqlServerDouble } from './support/sql-server-double.js';

const HOUR = 3_600_000;

/** A store on a recorded SQL Server whose double answers `respond` first, then the session statements. */
async function storeOn(respond: Responder) {
  const double = sqlServerDouble();
  const server = recordingSqlServer((statement) => respond(statement) ?? double.respond(statement));
  const store = new MssqlStore({ knex: server.knex, cleanupInterval: 0 });
  await store.ready;
  const now = Date.now();
  for (let i = 0; i < 3; i += 1) double.rows.set(`old-${i}`, { sess: '{}', expires: now - HOUR });
  const reports: PruneEvent[] = [];
  store.on('prune', (report: PruneEvent) => reports.push(report));
  const prune = () => server.statements.slice(server.statements.findIndex((s) => s.sql === PRUNE_LOCK_SQL.get));
  return {
    store,
    double,
    server,
    reports,
    prune,
    close: async () => {
      await store.close();
      await server.knex.destroy();
    },
  };
}

const none: Responder = () => undefined;

describe('the prune lock on SQL Server (sp_getapplock, verified offline)', () => {
  it("takes the lock without waiting in the batch's transaction, prunes, and commits, naming the table by a hashed resource", async () => {
    const { store, double, reports, prune, close } = await storeOn(none);
    try {
      await expect(store.prune()).resolves.toBe(3);
      await new Promise((resolve) => setImmediate(resolve));
      const statements = prune();
      expect(statements[0]!.sql).toBe(PRUNE_LOCK_SQL.get);
      expect(statements.map((s) => s.sql)).toContain(SQL.prune);
      expect(statements[statements.length - 1]!.sql).toBe(PRUNE_LOCK_SQL.commit);
      const resource = pruneLockResource(store.table);
      expect(resource).toMatch(/^csk-sweep:[0-9a-f]{64}$/);
      expect(statements[0]!.parameters).toEqual([
        { name: 'p0', declaration: `nvarchar(${resource.length})`, value: resource },
      ]);
      expect(double.rows.size).toBe(0);
      expect(reports).toEqual([{ deleted: 3, skipped: false, ms: expect.any(Number) }]);
    } finally {
      await close();
    }
  });

  it('skips the prune when another session holds the lock (status -1): no DELETE', async () => {
    const held: Responder = (statement) =>
      statement.sql === PRUNE_LOCK_SQL.get ? { rows: [{ result: -1 }] } : undefined;
    const { store, double, reports, prune, close } = await storeOn(held);
    try {
      await expect(store.prune()).resolves.toBe(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(prune().map((s) => s.sql)).toEqual([PRUNE_LOCK_SQL.get, PRUNE_LOCK_SQL.commit]);
      expect(double.rows.size).toBe(3);
      expect(reports).toEqual([{ deleted: 0, skipped: true, ms: expect.any(Number) }]);
    } finally {
      await close();
    }
  });

  it("rolls the batch's transaction back, and so releases the lock, when the prune fails, and reports the error", async () => {
    const failing: Responder = (statement) => {
      if (statement.sql === SQL.prune) throw new Error('Transaction (Process ID 53) was deadlocked');
      return undefined;
    };
    const { store, prune, close } = await storeOn(failing);
    try {
      await expect(store.prune()).rejects.toMatchObject({ name: 'DatabaseError', operation: 'prune' });
      const statements = prune();
      expect(statements[statements.length - 1]!.sql).toBe(PRUNE_LOCK_SQL.rollback);
    } finally {
      await close();
    }
  });

  it('classifies tedious errors of a broken connection as unavailability, and a failed login or SQL error not', () => {
    const adapter = new MssqlAdapter();
    const coded = (code: string, name = 'ConnectionError') => Object.assign(new Error(code), { name, code });
    expect(adapter.classifyError(coded('ESOCKET'))).toBe('unreachable');
    expect(adapter.classifyError(coded('ETIMEOUT'))).toBe('unreachable');
    expect(adapter.classifyError(coded('ECLOSE', 'RequestError'))).toBe('unreachable');
    expect(adapter.classifyError(coded('EINVALIDSTATE', 'RequestError'))).toBe('unreachable');
    expect(adapter.classifyError(coded('ELOGIN'))).not.toBe('unreachable');
    expect(adapter.classifyError(coded('EREQUEST', 'RequestError'))).not.toBe('unreachable');
  });

  it('retries a deadlock victim (1205) and no other request error', () => {
    const adapter = new MssqlAdapter();
    const numbered = (number: number) => Object.assign(new Error(`error ${number}`), { name: 'RequestError', number });
    expect(adapter.classifyError(numbered(1205))).toBe('conflict');
    expect(adapter.classifyError(numbered(2627))).not.toBe('conflict');
    expect(adapter.classifyError(numbered(208))).not.toBe('conflict');
  });
});
