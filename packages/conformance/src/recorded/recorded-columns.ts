import { describe, expect, it } from '@jest/globals';
import type { KnexStore } from '@csk/core';
import {
  sessionUntil,
  useRecordedStores,
  type RecordedStoreFactory,
  type Recording,
  type StatementOf,
} from './recording.js';

const HOUR = 3_600_000;

/**
 * The options every test of {@link describeRecordedColumns} opens its store with: custom column names (`data`,
 * `expires`), epoch-ms expiries and two extra columns, one of them read from a number. The dialect's statement texts
 * are those of a `sessions` table with these columns.
 */
export const RECORDED_COLUMN_OPTIONS = {
  sessFieldName: 'data',
  expiredFieldName: 'expires',
  expiryEncoding: 'epoch-ms',
  columns: {
    userId: (session: object) => (session as { user?: string }).user,
    tenant: (session: object) => (session as { tenant?: number }).tenant,
  },
} as const;

/** A dialect package's store on its recorded driver, with what differs for it, for {@link describeRecordedColumns}. */
export interface RecordedColumnsTarget<Rec extends Recording, St extends KnexStore, P>
  extends RecordedStoreFactory<Rec, St, P> {
  /** The describe title. */
  readonly name: string;
  /**
   * A responder for a store on a missing `sessions` table: the select of `findWhere` answers `reads`, the delete of
   * `destroyWhere` reports `deleted` rows.
   */
  respond(reads?: ReadonlyArray<{ sid: string; data: string }>, deleted?: number): P;
  /** What createTable sends after the table lookup, and how the test title words the column types. */
  readonly createTable: {
    /** The extra columns' type, e.g. 'varchar(255) NULL'. */
    readonly extraColumns: string;
    /** The expiry column's type, e.g. 'a bigint'. */
    readonly expiry: string;
    readonly statements: readonly string[];
  };
  /** The definition of the epoch expiry column inside the CREATE TABLE. */
  readonly expiryColumnDdl: string;
  /** Fragments of the upsert of a set: its bound source row, and its update of the extra columns. */
  readonly mergeContains: readonly string[];
  /** The select of `findWhere({ userId })`, and the delete of `destroyWhere({ userId, tenant })`. */
  readonly findWhereSql: string;
  readonly destroyWhereSql: string;
  /** The values a statement bound, as numbers where the driver carries them otherwise (e.g. a bigint). */
  values(statement: StatementOf<Rec>): unknown[];
  /** The dialect's checks that the upsert of a session with no extra-column values bound both of them as NULL. */
  expectNullExtraColumns(merge: StatementOf<Rec>): void;
}

/**
 * What a store on a recorded driver sends for the `columns` option, custom column names and epoch expiries, and how it
 * reads the replies: the conformance cases of packages/conformance/src/cases/columns*.ts need a live database, so
 * offline dialects check these instead. The dialect brings its statement texts and how its driver carries binds.
 */
export function describeRecordedColumns<Rec extends Recording, St extends KnexStore, P>(
  target: RecordedColumnsTarget<Rec, St, P>,
): void {
  const OPTIONS = RECORDED_COLUMN_OPTIONS;
  describe(target.name, () => {
    const open = useRecordedStores(target);
    const last = (recording: Rec): StatementOf<Rec> => recording.statements[recording.statements.length - 1]!;

    const { extraColumns, expiry, statements } = target.createTable;
    it(`creates the extra columns as ${extraColumns}, each indexed, and the expiry as ${expiry}`, async () => {
      const { recording, store } = open(OPTIONS, target.respond());
      await store.ready;
      expect(recording.statements.map((statement) => statement.sql).slice(1)).toEqual(statements);
    });

    it('set merges the extra columns (a number as its text, none as NULL) and the expiry in epoch ms', async () => {
      const { recording, store } = open(OPTIONS, target.respond());
      const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
      const data = sessionUntil(expires, { user: 'ada', tenant: 7 });
      await store.set('a', data);
      const merge = last(recording);
      for (const fragment of target.mergeContains) expect(merge.sql).toContain(fragment);
      // Years away: rounded up to the whole second.
      expect(target.values(merge)).toEqual(['a', JSON.stringify(data), expires - 678 + 1000, 'ada', '7']);

      await store.set('b', sessionUntil(expires, {}));
      target.expectNullExtraColumns(last(recording));
    });

    it('findWhere selects the live rows of the filter and decodes them; destroyWhere deletes by it and resolves the count', async () => {
      const session = sessionUntil(Date.now() + HOUR, { user: 'ada' });
      const { recording, store } = open(OPTIONS, target.respond([{ sid: 'a', data: JSON.stringify(session) }], 3));
      await store.ready;
      const before = Date.now();
      await expect(store.findWhere({ userId: 'ada' })).resolves.toEqual([{ sid: 'a', session }]);
      const select = last(recording);
      expect(select.sql).toBe(target.findWhereSql);
      expect(Number(select.values[0])).toBeGreaterThanOrEqual(before);
      expect(select.values[1]).toBe('ada');

      await expect(store.destroyWhere({ userId: 'ada', tenant: 7 })).resolves.toBe(3);
      const remove = last(recording);
      expect(remove.sql).toBe(target.destroyWhereSql);
      expect(remove.values).toEqual(['ada', '7']);
    });

    it('a bad filter sends nothing', async () => {
      const { recording, store } = open(OPTIONS, target.respond());
      await store.ready;
      const sent = recording.statements.length;
      await expect(store.destroyWhere({})).rejects.toMatchObject({ name: 'InvalidFilterError' });
      await expect(store.destroyWhere({ nope: 'x' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
      await expect(store.findWhere({ userId: 'ada ' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
      expect(recording.statements).toHaveLength(sent);
    });

    it('epoch-seconds binds whole seconds, in set and in the comparisons', async () => {
      const { recording, store } = open({ ...OPTIONS, expiryEncoding: 'epoch-seconds' }, target.respond());
      const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
      await store.set('a', sessionUntil(expires));
      expect(recording.statements[1]!.sql).toContain(target.expiryColumnDdl);
      expect(target.values(last(recording))[2]).toBe(Math.ceil(expires / 1000));
      await store.findWhere({ userId: 'ada' });
      const now = Number(last(recording).values[0]);
      expect(Math.abs(now - Date.now() / 1000)).toBeLessThan(5);
    });
  });
}
