import { describe, expect, it } from '@jest/globals';
import { createSessionTable, type KnexStore } from '@csk/core';
import { tableKeys } from '../introspect.js';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, errorName, liveSession, sessionExpiringAt, withCallback } from '../util.js';
import { expectExpiryWithin } from './touch.js';

/**
 * The table made ahead of time (createSessionTable, as migrations and the CLI make it), the shape check of a
 * createTable: false store, and stats(), on the dialect's own database.
 */
export function tableSetupCases(ctx: SuiteContext): void {
  describe('table setup and stats', () => {
    const scope = useScope(ctx, { label: 'setup' });
    const adapter = () => scope.store.adapter;

    it('createSessionTable makes the table a store would, once: a createTable: false store then works on it', async () => {
      const tableName = scope.newTableName('made');
      const columns = { userId: (session: object) => (session as { user?: string }).user };
      await expect(createSessionTable(scope.knex, adapter(), { tableName, columns })).resolves.toBe(true);
      await expect(createSessionTable(scope.knex, adapter(), { tableName, columns })).resolves.toBe(false);
      expect(Object.keys(await scope.table(tableName).columnInfo()).sort()).toEqual(['expired', 'sess', 'sid', 'userId']);
      const keys = await tableKeys(scope.knex, tableName);
      expect(keys.primaryKey).toEqual(['sid']);
      expect(keys.indexes.filter((index) => index[0] === 'expired')).toHaveLength(1);

      const store = scope.open({ tableName, columns, createTable: false });
      const sid = scope.sid();
      await store.set(sid, liveSession({ user: 'ada' }));
      await expect(store.get(sid)).resolves.toMatchObject({ user: 'ada' });
    });

    it('a createTable: false store on a table that lacks columns fails at start-up, naming them', async () => {
      const tableName = scope.newTableName('part');
      await scope.knex.schema.createTable(tableName, (table) => {
        table.string('sid', 255).primary();
        table.text('sess');
      });
      const store = scope.open({ tableName, createTable: false, columns: { tenant: () => 't' } });
      await expect(store.ready).rejects.toMatchObject({ name: 'SessionTableShapeError', missing: ['expired', 'tenant'] });
      const outcome = await withCallback((done) => store.get('sid', done));
      expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
      expect(errorName(outcome.error)).toBe('SessionTableShapeError');
      expect((outcome.error as Error).message).toContain(tableName);
    });

    it('stats counts live and expired rows and finds the earliest expiries and the largest session', async () => {
      const tableName = scope.newTableName('stats');
      const store: KnexStore = scope.open({ tableName });
      await expect(store.stats()).resolves.toEqual({ live: 0, expired: 0, oldestLive: null, oldest: null, largest: null });

      const now = Date.now();
      const soon = now + HOUR;
      await store.set('live-soon', sessionExpiringAt(soon));
      await store.set('live-late', sessionExpiringAt(now + 3 * HOUR));
      const big = { text: 'Zoë '.repeat(2000) };
      await store.set('big', sessionExpiringAt(now + 2 * HOUR, big));
      await scope.writeRow('gone-first', {}, now - 3 * HOUR, tableName);
      await scope.writeRow('gone-later', {}, now - HOUR, tableName);

      const stats = (await store.stats())!;
      expect(stats).toMatchObject({
        live: 3,
        expired: 2,
        oldestLive: { sid: 'live-soon' },
        oldest: { sid: 'gone-first' },
        largest: { sid: 'big' },
      });
      expectExpiryWithin(scope, stats.oldestLive!.expires!.getTime(), soon);
      expect(Math.abs(stats.oldest!.expires!.getTime() - (now - 3 * HOUR))).toBeLessThanOrEqual(scope.expiryTolerance);
      // At least a byte per character of the stored JSON, whatever the column's encoding.
      expect(stats.largest!.bytes).toBeGreaterThanOrEqual(JSON.stringify(big).length);

      await expect(store.stats({ largest: false })).resolves.not.toHaveProperty('largest');
    });

    it.each(['epoch-seconds', 'epoch-ms'] as const)('stats reads an expiry stored as %s', async (expiryEncoding) => {
      const tableName = scope.newTableName(expiryEncoding === 'epoch-ms' ? 'ems' : 'esec');
      const store = scope.open({ tableName, expiryEncoding });
      const expires = Date.UTC(2031, 4, 6, 7, 8, 9, 123);
      await store.set('epoch', sessionExpiringAt(expires));
      const stats = (await store.stats())!;
      // Years away: stored rounded up to the whole second, which both encodings keep.
      expect(stats.oldestLive).toEqual({ sid: 'epoch', expires: new Date(expires - 123 + 1000) });
    });
  });
}
