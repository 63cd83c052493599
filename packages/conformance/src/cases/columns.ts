// The extra columns filled from the session (the cases of findWhere, destroyWhere, refusals, custom column names and
// integer expiries are in the columns-*.ts modules beside it).
import { describe, expect, it } from '@jest/globals';
import type { KnexStoreOptions } from '@csk/core';
import { tableKeys } from '../introspect.js';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, liveSession } from '../util.js';
import { expiryEncodingCases } from './columns-expiry-encoding.js';
import { columnNameCases } from './columns-names.js';
import { columnRefusalCases } from './columns-refusals.js';
import { rawRow } from './columns-rows.js';
import { columnWhereCases } from './columns-where.js';

type Columns = NonNullable<KnexStoreOptions['columns']>;

/** The per-user columns most cases use: the user and the tenant, each read from the session. */
const COLUMNS: Columns = {
  userId: (session) => (session as { user?: string | number }).user ?? null,
  tenant: (session) => (session as { tenant?: string | number }).tenant ?? null,
};

/**
 * The `columns` option (extra columns filled from the session, created with an index each), `destroyWhere` and
 * `findWhere` on them; custom names for the sess and expiry columns; and expiries stored as epoch seconds or ms.
 */
export function columnCases(ctx: SuiteContext): void {
  describe('extra columns: columns, findWhere and destroyWhere', () => {
    const scope = useScope(ctx, { label: 'cols', storeOptions: { columns: COLUMNS } });
    const user = (name: string): string => scope.sid(name);

    it('createTable creates each extra column, nullable, with an index of its own', async () => {
      const info = await scope.table().columnInfo();
      expect(Object.keys(info).sort()).toEqual(['expired', 'sess', 'sid', 'tenant', 'userId']);
      expect(info.userId?.nullable).toBe(true);
      expect(info.tenant?.nullable).toBe(true);
      const keys = await tableKeys(scope.knex, scope.tableName);
      expect(keys.primaryKey).toEqual(['sid']);
      expect(keys.indexes.filter((columns) => columns.join() === 'userId')).toHaveLength(1);
      expect(keys.indexes.filter((columns) => columns.join() === 'tenant')).toHaveLength(1);
      expect(keys.indexes.filter((columns) => columns.join() === 'expired')).toHaveLength(1);
    });

    it('set fills the columns from the session: text as written, a number as its decimal text, none as NULL', async () => {
      const full = scope.sid();
      await scope.store.set(full, liveSession({ user: 'Zoë ✓', tenant: 42 }));
      expect(await rawRow(scope, full)).toMatchObject({ userId: 'Zoë ✓', tenant: '42' });
      const empty = scope.sid();
      await scope.store.set(empty, liveSession({}));
      expect(await rawRow(scope, empty)).toMatchObject({ userId: null, tenant: null });
      await expect(scope.store.get(full)).resolves.toMatchObject({ user: 'Zoë ✓', tenant: 42 });
    });

    it('a later set of the session with another user updates the column, and touch leaves it alone', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession({ user: 'ada', tenant: 't1' }));
      await scope.store.set(sid, liveSession({ user: 'bob', tenant: 't1' }));
      expect(await rawRow(scope, sid)).toMatchObject({ userId: 'bob', tenant: 't1' });
      await scope.store.touch(sid, liveSession({}, 2 * HOUR));
      expect(await rawRow(scope, sid)).toMatchObject({ userId: 'bob', tenant: 't1' });
      await scope.store.set(sid, liveSession({ tenant: 't1' }));
      expect(await rawRow(scope, sid)).toMatchObject({ userId: null, tenant: 't1' });
    });

    columnWhereCases(scope, user);
    columnRefusalCases(scope);
  });

  columnNameCases(ctx);
  expiryEncodingCases(ctx);
}
