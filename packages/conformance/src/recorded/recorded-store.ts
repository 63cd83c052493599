import { beforeEach, describe, expect, it } from '@jest/globals';
import type { KnexStore } from '@csk/core';
import {
  sessionUntil,
  useRecordedStores,
  type OpenRecordedStore,
  type RecordedStoreFactory,
  type Recording,
  type StatementOf,
} from './recording.js';
import type { DoubleRow, SessionStatements } from './session-double.js';
import { asStored } from '../util.js';

const HOUR = 3_600_000;

/** A dialect package's store on its recorded driver, answered by its double, for {@link describeRecordedStore}. */
export interface RecordedStoreTarget<Rec extends Recording, St extends KnexStore, P>
  extends RecordedStoreFactory<Rec, St, P> {
  /** The describe title. */
  readonly name: string;
  /** A new double: an empty database with no table. */
  double(): { respond: P; rows: Map<string, DoubleRow> };
  /** The statements the store sends for the default table (the double's). */
  readonly sql: SessionStatements;
  /** An expiry as the store binds it. */
  bound(ms: number): unknown;
  /** The dialect's checks of a get's values (their types, where "now" stands), given the time before the call. */
  expectGetValues(get: StatementOf<Rec>, now: number): void;
  /** The dialect's checks of a prune's values (their types, where the batch size stands). */
  expectPruneValues(prune: StatementOf<Rec>): void;
  /** Registers the dialect's own tests, in the same describe and on the same fixture. */
  cases?(fixture: RecordedStoreFixture<Rec, St, P>): void;
}

/** Each test's store, ready, on a fresh recording answered by a fresh double. */
export interface RecordedStoreFixture<Rec extends Recording, St extends KnexStore, P> {
  readonly double: { respond: P; rows: Map<string, DoubleRow> };
  readonly recording: Rec;
  readonly store: St;
  /** Another store (closed after the test), as {@link useRecordedStores} opens it. */
  readonly open: OpenRecordedStore<Rec, St, P>;
  /** The text of every statement sent so far. */
  sent(): string[];
  /** The statement sent last. */
  last(): StatementOf<Rec>;
  /** Plant a row in the double, bypassing the store. */
  put(sid: string, row: DoubleRow): void;
}

/**
 * The end-to-end tests of a store on a recorded driver that are the same for every such dialect: what the store
 * sends and how it reads the replies knex decodes. The dialect adds the checks of its own binds.
 */
export function describeRecordedStore<Rec extends Recording, St extends KnexStore, P>(
  target: RecordedStoreTarget<Rec, St, P>,
): void {
  const SQL = target.sql;
  describe(target.name, () => {
    let double: { respond: P; rows: Map<string, DoubleRow> };
    let recording: Rec;
    let store: St;
    const open = useRecordedStores(target);

    beforeEach(async () => {
      double = target.double();
      ({ recording, store } = open({}, double.respond));
      await store.ready;
    });

    const last = (): StatementOf<Rec> => recording.statements[recording.statements.length - 1]!;
    const put = (sid: string, row: DoubleRow): void => {
      double.rows.set(sid, row);
    };
    const fixture: RecordedStoreFixture<Rec, St, P> = {
      get double() {
        return double;
      },
      get recording() {
        return recording;
      },
      get store() {
        return store;
      },
      open,
      sent: () => recording.statements.map((s) => s.sql),
      last,
      put,
    };

    target.cases?.(fixture);

    it('get reads the live row back through knex and parses it; a missing or expired sid is null', async () => {
      const now = Date.now();
      const data = sessionUntil(now + HOUR, { user: 'ada' });
      await store.set('a', data);
      put('old', { sess: JSON.stringify(sessionUntil(now - 1)), expires: now - 1 });

      await expect(store.get('a')).resolves.toEqual(JSON.parse(JSON.stringify(data)));
      const get = last();
      expect(get.sql).toBe(SQL.get);
      target.expectGetValues(get, now);

      await expect(store.get('old')).resolves.toBeNull();
      await expect(store.get('missing')).resolves.toBeNull();
    });

    it('touch moves a live expiry with one UPDATE and never revives an expired row', async () => {
      const now = Date.now();
      await store.set('a', sessionUntil(now + HOUR));
      put('old', { sess: '{}', expires: now - 1 });

      await store.touch('a', sessionUntil(now + 2 * HOUR));
      expect(last().sql).toBe(SQL.touch);
      expect(last().values.slice(0, 2)).toEqual([target.bound(asStored(now + 2 * HOUR)), 'a']);
      expect(double.rows.get('a')!.expires).toBe(asStored(now + 2 * HOUR));

      await store.touch('old', sessionUntil(now + 2 * HOUR));
      expect(double.rows.get('old')!.expires).toBe(now - 1);
    });

    it('set of an already expired session deletes the row instead of writing it', async () => {
      const now = Date.now();
      await store.set('a', sessionUntil(now + HOUR));
      await store.set('a', sessionUntil(now - HOUR));
      expect(last().sql).toBe(SQL.destroy);
      expect(double.rows.has('a')).toBe(false);
    });

    it('all, length and ids see only live rows, with what they read decoded from the reply', async () => {
      const now = Date.now();
      await store.set('a', sessionUntil(now + HOUR, { n: 1 }));
      await store.set('b', sessionUntil(now + HOUR, { n: 2 }));
      put('old', { sess: '{"n":3}', expires: now - 1 });

      const all = await store.allById();
      expect(Object.keys(all!).sort()).toEqual(['a', 'b']);
      expect(all!.b).toMatchObject({ n: 2 });
      expect(last().sql).toBe(SQL.all);

      await expect(store.length()).resolves.toBe(2);
      expect(last().sql).toBe(SQL.length);

      await expect(store.ids()).resolves.toEqual(expect.arrayContaining(['a', 'b']));
      expect(last().sql).toBe(SQL.ids);
    });

    it('destroy, clear and prune resolve the number of rows the reply says they deleted', async () => {
      const now = Date.now();
      for (const sid of ['a', 'b', 'c', 'd']) await store.set(sid, sessionUntil(now + HOUR));
      for (let i = 0; i < 3; i += 1) put(`old-${i}`, { sess: '{}', expires: now - HOUR });

      await expect(store.destroy('a')).resolves.toBe(1);
      expect(last().sql).toBe(SQL.destroy);
      await expect(store.destroy('a')).resolves.toBe(0);
      await expect(store.destroy(['b', 'c', 'nope'])).resolves.toBe(2);
      expect(last().values).toEqual(['b', 'c', 'nope']);

      await expect(store.prune()).resolves.toBe(3);
      // The prune's last DELETE: a dialect with a prune lock sends the lock's release after it.
      const prune = [...recording.statements].reverse().find((statement) => statement.sql === SQL.prune);
      expect(prune).toBeDefined();
      target.expectPruneValues(prune!);
      expect([...double.rows.keys()]).toEqual(['d']);

      await expect(store.clear()).resolves.toBe(1);
      expect(last().sql).toBe(SQL.clear);
      expect(double.rows.size).toBe(0);
    });
  });
}
