// The extra columns' findWhere and destroyWhere: which sessions they find and delete, and which they leave alone.
import { expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import type { Scope } from '../scope.js';
import { MINUTE, errorName, liveSession, roundTrip, withCallback } from '../util.js';
import { rawRow, rawSids } from './columns-rows.js';

/** A session's found entries, sorted by sid, for comparing with what was written. */
const bySid = (found: Array<{ sid: string; session: SessionData }> | undefined) =>
  [...(found ?? [])].sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));

/**
 * Write an expired row of `user` directly: through the table, since the store deletes a session it is asked to save
 * already expired.
 */
async function writeExpired(scope: Scope, sid: string, user: string): Promise<void> {
  await scope.writeRow(sid, liveSession({ user }), Date.now() - MINUTE);
  await scope.table().where(scope.sidColumn, sid).update({ userId: user });
}

/** findWhere and destroyWhere on the extra columns of `scope`'s store; `user` makes a user id of this run. */
export function columnWhereCases(scope: Scope, user: (name: string) => string): void {
  it("findWhere returns the live sessions of that user only: not expired ones, not others'", async () => {
    const ada = user('ada');
    const bob = user('bob');
    const [a1, a2, b1, old] = [scope.sid('a1'), scope.sid('a2'), scope.sid('b1'), scope.sid('old')];
    const sessions = {
      [a1]: liveSession({ user: ada, tenant: 't1', n: 1 }),
      [a2]: liveSession({ user: ada, tenant: 't2', n: 2 }),
      [b1]: liveSession({ user: bob, tenant: 't1', n: 3 }),
    };
    for (const [sid, session] of Object.entries(sessions)) await scope.store.set(sid, session);
    await writeExpired(scope, old, ada);

    expect(bySid(await scope.store.findWhere({ userId: ada }))).toEqual(
      bySid([
        { sid: a1, session: roundTrip(sessions[a1]!) },
        { sid: a2, session: roundTrip(sessions[a2]!) },
      ]),
    );
    expect(await scope.store.findWhere({ userId: ada, tenant: 't1' })).toEqual([
      { sid: a1, session: roundTrip(sessions[a1]!) },
    ]);
    expect((await scope.store.findWhere({ tenant: 't1' }))?.map((found) => found.sid).sort()).toEqual(
      expect.arrayContaining([a1, b1]),
    );
    await expect(scope.store.findWhere({ userId: user('nobody') })).resolves.toEqual([]);

    const outcome = await withCallback<Array<{ sid: string; session: SessionData }>>((done) =>
      scope.store.findWhere({ userId: bob }, done),
    );
    expect(outcome).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
    expect(outcome.value).toEqual([{ sid: b1, session: roundTrip(sessions[b1]!) }]);
  });

  it('findWhere matches a number against the decimal text the column holds', async () => {
    const id = 100_000 + Math.floor(Math.random() * 1_000_000_000);
    const sid = scope.sid();
    await scope.store.set(sid, liveSession({ user: id }));
    expect((await scope.store.findWhere({ userId: id }))?.map((found) => found.sid)).toEqual([sid]);
    expect((await scope.store.findWhere({ userId: String(id) }))?.map((found) => found.sid)).toEqual([sid]);
  });

  it('findWhere and destroyWhere match the value exactly: letter case and accents count', async () => {
    const base = user('exact');
    const [lower, upper, accent] = [scope.sid('lower'), scope.sid('upper'), scope.sid('accent')];
    await scope.store.set(lower, liveSession({ user: `${base}-ada` }));
    await scope.store.set(upper, liveSession({ user: `${base}-ADA` }));
    await scope.store.set(accent, liveSession({ user: `${base}-adá` }));
    expect((await scope.store.findWhere({ userId: `${base}-ada` }))?.map((found) => found.sid)).toEqual([lower]);
    expect((await scope.store.findWhere({ userId: `${base}-adá` }))?.map((found) => found.sid)).toEqual([accent]);
    await expect(scope.store.destroyWhere({ userId: `${base}-ADA` })).resolves.toBe(1);
    expect(await rawRow(scope, lower)).toBeDefined();
    expect(await rawRow(scope, accent)).toBeDefined();
    expect(await rawRow(scope, upper)).toBeUndefined();
  });

  it('a trailing space is part of the value, or the value is refused: never matched as another user', async () => {
    const base = user('space');
    const plain = scope.sid('plain');
    const spaced = scope.sid('spaced');
    await scope.store.set(plain, liveSession({ user: base }));
    const stored = await scope.store.set(spaced, liveSession({ user: `${base} ` })).then(
      () => true,
      (error: unknown) => {
        expect(errorName(error)).toBe('InvalidSessionError');
        return false;
      },
    );
    expect((await scope.store.findWhere({ userId: base }))?.map((found) => found.sid)).toEqual([plain]);
    const spacedFilter = await scope.store.findWhere({ userId: `${base} ` }).then(
      (found) => found?.map((entry) => entry.sid),
      (error: unknown) => errorName(error),
    );
    expect(spacedFilter).toEqual(stored ? [spaced] : 'InvalidFilterError');
    await scope.store.destroyWhere({ userId: base });
    expect(await rawRow(scope, spaced)).toEqual(stored ? expect.anything() : undefined);
  });

  it("destroyWhere deletes exactly that user's sessions, live and expired, and resolves the count", async () => {
    const ada = user('ada');
    const bob = user('bob');
    const [a1, a2, b1, old] = [scope.sid('a1'), scope.sid('a2'), scope.sid('b1'), scope.sid('old')];
    await scope.store.set(a1, liveSession({ user: ada }));
    await scope.store.set(a2, liveSession({ user: ada }));
    await scope.store.set(b1, liveSession({ user: bob }));
    await writeExpired(scope, old, ada);
    const before = await rawSids(scope);

    await expect(scope.store.destroyWhere({ userId: ada })).resolves.toBe(3);
    expect(await rawSids(scope)).toEqual(before.filter((sid) => ![a1, a2, old].includes(sid)));
    await expect(scope.store.get(a1)).resolves.toBeNull();
    await expect(scope.store.get(b1)).resolves.toMatchObject({ user: bob });

    const again = await withCallback<number>((done) => scope.store.destroyWhere({ userId: ada }, done));
    expect(again).toMatchObject({ error: null, value: 0, calls: 1, promise: 'resolved' });
    const bobs = await withCallback<number>((done) => scope.store.destroyWhere({ userId: bob }, done));
    expect(bobs).toMatchObject({ error: null, value: 1, calls: 1 });
    expect(await rawRow(scope, b1)).toBeUndefined();
  });

  it('destroyWhere with two columns deletes only the rows matching both', async () => {
    const ada = user('ada');
    const [t1, t2] = [scope.sid('t1'), scope.sid('t2')];
    await scope.store.set(t1, liveSession({ user: ada, tenant: 'one' }));
    await scope.store.set(t2, liveSession({ user: ada, tenant: 'two' }));
    await expect(scope.store.destroyWhere({ userId: ada, tenant: 'two' })).resolves.toBe(1);
    expect(await rawRow(scope, t1)).toBeDefined();
    expect(await rawRow(scope, t2)).toBeUndefined();
  });
}
