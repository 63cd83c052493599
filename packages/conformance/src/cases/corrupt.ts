import { beforeAll, describe, expect, it } from '@jest/globals';
import type { KnexStore } from '@csk/core';
import { useScope, type Scope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, errorName, expectInvalidSessionRead, liveSession, roundTrip, withCallback } from '../util.js';

/** What the store's own table can hold on every engine that is no session object: JSON of another kind, a number. */
const NOT_OBJECTS: Array<[string, unknown]> = [
  ['a number (the wrong type for the column)', 42],
  ['JSON text of a number', '42'],
  ['a JSON array', '[{"cookie":{}}]'],
  // Not a string holding JSON: PostgreSQL's drivers decode a json column, and the store cannot tell their string from
  // JSON text, so a string holding an object's JSON reads as that object there.
  ['a JSON string', '"just text"'],
  ['JSON null', 'null'],
  ['JSON true', 'true'],
];

/** What only a hand-made table (sess as nullable text) can hold: text that is no JSON at all, and NULL. */
const NOT_JSON: Array<[string, unknown]> = [
  ['invalid JSON', '{"cookie": {'],
  ['text that is no JSON at all', 'not json'],
  ['SQL NULL', null],
];

/** The number of rows under `sid`, read without parsing them. */
async function rowsUnder(scope: Scope, sid: string, tableName?: string): Promise<number> {
  const row = (await scope.table(tableName).where(scope.sidColumn, sid).count({ n: '*' }).first()) as { n?: unknown };
  return Number(row?.n ?? 0);
}

/** The number of rows in a table. */
async function rowsIn(scope: Scope, tableName?: string): Promise<number> {
  const row = (await scope.table(tableName).count({ n: '*' }).first()) as { n?: unknown };
  return Number(row?.n ?? 0);
}

/** With 'delete', a corrupt row reads as missing and is deleted (by default the read fails: expectInvalidSessionRead). */
async function expectTreatedAsMissing(store: KnexStore, scope: Scope, sid: string, tableName?: string): Promise<void> {
  const outcome = await withCallback((done) => store.get(sid, done));
  expect(outcome).toMatchObject({ calls: 1, promise: 'resolved', error: null, value: null });
  expect(await rowsUnder(scope, sid, tableName)).toBe(0);
}

/**
 * Rows the store did not write as it writes them: a `sess` that is no JSON object (invalid JSON, another JSON type, a
 * number, NULL) and an expiry that is NULL. By default a read of one fails with an InvalidSessionError naming the sid;
 * with `onCorruptSession: 'delete'` the row reads as missing and is deleted. A NULL expiry is never live; with
 * 'delete' the prune deletes it.
 */
export function corruptRowCases(ctx: SuiteContext): void {
  describe('corrupt rows', () => {
    const scope = useScope(ctx, { label: 'corrupt' });
    const later = (): number => Date.now() + HOUR;

    /** Write a row holding `sess` as it is (a number stays a number), bypassing the store. */
    const writeRaw = async (sid: string, sess: unknown, tableName?: string): Promise<void> => {
      const expired = scope.store.adapter.encodeExpiry(later(), scope.knex);
      await scope.table(tableName).insert({ [scope.sidColumn]: sid, sess, expired });
    };

    describe.each(NOT_OBJECTS)('in the store’s own table, a sess holding %s', (_title, sess) => {
      it('fails get with an InvalidSessionError naming the sid, through the callback, and keeps the row', async () => {
        const sid = scope.sid('corrupt');
        await writeRaw(sid, sess);
        await expectInvalidSessionRead(scope.store, sid);
        expect(await rowsUnder(scope, sid)).toBe(1);
      });

      it('fails all() with an InvalidSessionError naming the sid', async () => {
        await scope.empty();
        const sid = scope.sid('corrupt');
        await scope.store.set(scope.sid('good'), liveSession());
        await writeRaw(sid, sess);
        const outcome = await withCallback((done) => scope.store.all(done));
        expect(errorName(outcome.error)).toBe('InvalidSessionError');
        expect((outcome.error as { sid?: unknown }).sid).toBe(sid);
      });

      it('is repaired by the next set of that sid', async () => {
        const sid = scope.sid('corrupt');
        await writeRaw(sid, sess);
        const session = liveSession({ repaired: true });
        await scope.store.set(sid, session);
        await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
      });

      it("with onCorruptSession: 'delete', reads as missing in get, all, ids and length, and is deleted", async () => {
        const store = scope.open({ onCorruptSession: 'delete' });
        await scope.empty();
        const good = scope.sid('good');
        const session = liveSession({ good: true });
        await store.set(good, session);
        const [first, second, third] = [scope.sid('corrupt'), scope.sid('corrupt'), scope.sid('corrupt')];
        await writeRaw(first!, sess);
        await writeRaw(second!, sess);
        await writeRaw(third!, sess);

        await expectTreatedAsMissing(store, scope, first!);
        await expect(store.length()).resolves.toBe(1);
        expect(await rowsUnder(scope, second!)).toBe(0);
        await expect(store.ids()).resolves.toEqual([good]);
        await writeRaw(second!, sess);
        await expect(store.all()).resolves.toEqual([roundTrip(session)]);
        expect((await scope.readRows()).map((row) => row.sid)).toEqual([good]);
        expect(await rowsUnder(scope, third!)).toBe(0);
      });
    });

    describe('in a hand-made table whose sess is nullable text and whose expiry is nullable', () => {
      let loose = '';
      let strict: KnexStore;
      let lenient: KnexStore;

      beforeAll(async () => {
        loose = scope.newTableName('loose');
        await ctx.knex.schema.createTable(loose, (table) => {
          table.string(scope.sidColumn, 255).primary();
          table.text('sess').nullable();
          table.datetime('expired', { precision: 3 }).nullable().index();
        });
        strict = scope.open({ tableName: loose, createTable: false });
        lenient = scope.open({ tableName: loose, createTable: false, onCorruptSession: 'delete' });
        await Promise.all([strict.ready, lenient.ready]);
      });

      it.each(NOT_JSON)('a sess of %s fails get with an InvalidSessionError naming the sid', async (_title, sess) => {
        const sid = scope.sid('corrupt');
        await writeRaw(sid, sess, loose);
        await expectInvalidSessionRead(strict, sid);
        expect(await rowsUnder(scope, sid, loose)).toBe(1);
      });

      it.each(NOT_JSON)(
        "a sess of %s reads as missing and is deleted with onCorruptSession: 'delete'",
        async (_title, sess) => {
          const sid = scope.sid('corrupt');
          await writeRaw(sid, sess, loose);
          await expectTreatedAsMissing(lenient, scope, sid, loose);
        },
      );

      it("a NULL expiry is never live; with onCorruptSession: 'delete' the prune deletes it (in batches)", async () => {
        await scope.table(loose).del();
        const live = scope.sid('live');
        const session = liveSession({ live: true });
        await strict.set(live, session);
        const nullExpiry = Array.from({ length: 1234 }, (_, i) => ({
          [scope.sidColumn]: `null-expiry-${i}`,
          sess: JSON.stringify(liveSession({ i })),
          expired: null,
        }));
        for (let i = 0; i < nullExpiry.length; i += 100) await scope.table(loose).insert(nullExpiry.slice(i, i + 100));
        await scope.writeRow('expired-1', liveSession(), Date.now() - MINUTE, loose);

        for (const store of [strict, lenient]) {
          await expect(store.get('null-expiry-7')).resolves.toBeNull();
          await expect(store.length()).resolves.toBe(1);
          await expect(store.ids()).resolves.toEqual([live]);
          await expect(store.allById()).resolves.toEqual({ [live]: roundTrip(session) });
        }
        // By default the prune leaves them, like every corrupt row; 'delete' deletes them and counts them.
        await expect(strict.prune()).resolves.toBe(1);
        expect(await rowsIn(scope, loose)).toBe(1 + 1234);
        await expect(lenient.prune()).resolves.toBe(1234);
        expect((await scope.table(loose).pluck(scope.sidColumn)).map(String)).toEqual([live]);
        await expect(strict.get(live)).resolves.toEqual(roundTrip(session));
      });

      it('a set gives a row with a NULL expiry a real one, and it is live again', async () => {
        const sid = scope.sid('revived');
        await scope.table(loose).insert({ [scope.sidColumn]: sid, sess: '{}', expired: null });
        const session = liveSession({ revived: true });
        await strict.set(sid, session);
        await expect(strict.get(sid)).resolves.toEqual(roundTrip(session));
        await expect(lenient.prune()).resolves.toBe(0);
      });
    });

    it("onCorruptSession accepts only 'error' and 'delete'", () => {
      for (const value of ['ignore', true, 1, null]) {
        expect(() => scope.open({ onCorruptSession: value as never })).toThrow(
          expect.objectContaining({ name: 'ConfigurationError', option: 'onCorruptSession' }),
        );
      }
    });
  });
}
