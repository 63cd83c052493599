import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { SessionData, Store } from 'express-session';
import type { Knex } from 'knex';
import type { KnexStore, KnexStoreOptions } from '@csk/core';
import { HOUR, MINUTE, randomId, roundTrip, SECOND, uniqueTableName } from '../util.js';

/** The part of connect-session-knex 5's store the upgrade checks use (its methods all return promises). */
export interface UpstreamStore extends Store {
  ready: Promise<unknown>;
  get(sid: string): Promise<unknown>;
  set(sid: string, session: unknown): Promise<void>;
  touch(sid: string, session: unknown): Promise<void>;
  destroy(sid: string): Promise<unknown>;
  all(): Promise<unknown>;
}

/** A session's own data. */
type Data = Record<string, unknown>;

/** What both versions' stores can be asked, for the steps the upgrade and the rollback share. */
interface Writable {
  get(sid: string): Promise<unknown>;
  set(sid: string, session: SessionData): Promise<unknown>;
  touch(sid: string, session: SessionData): Promise<unknown>;
}

/** Options of {@link describeUpgrade}. */
export interface UpgradeOptions {
  /** Title prefix, e.g. 'PostgreSQL (pg)'. */
  name: string;
  /** A fresh knex; the scenario destroys it. */
  createKnex(): Knex | Promise<Knex>;
  /** The package's store class with these options. */
  createStore(options: KnexStoreOptions): KnexStore;
  /** The published connect-session-knex 5 store (installed under an npm alias) with these options. */
  createUpstream(options: { knex: Knex; tableName: string; cleanupInterval: number }): UpstreamStore;
  /** An SQL expression of the expiry column (`??`) in epoch milliseconds, free of every time zone setting. */
  expiryMsExpression: string;
}

/** A session the way express-session hands one to a store; upstream reads `cookie.maxAge`, ours `cookie.expires`. */
function session(lifetimeMs: number, data: Data): SessionData {
  const expires = new Date(Date.now() + lifetimeMs);
  const cookie = { originalMaxAge: lifetimeMs, maxAge: lifetimeMs, expires, httpOnly: true, path: '/' };
  return { cookie, ...data } as unknown as SessionData;
}

/** When a session's cookie expires, in epoch milliseconds. */
function expiresOf(value: SessionData): number {
  return (value.cookie.expires as Date).getTime();
}

/** What `get` returns for a session: its JSON round trip (both versions store `JSON.stringify(session)`). */
function stored(value: SessionData): unknown {
  return roundTrip(value);
}

/**
 * `read` is `original` as stored, but for `cookie.expires`: this store reads it from the row (`rowMs`) where the two
 * differ (after a touch, or a row version 5 wrote with now + maxAge), and version 5 returns the cookie as stored.
 */
function expectRead(read: unknown, original: SessionData, rowMs: number | null): void {
  const want = stored(original) as SessionData;
  const got = read as SessionData;
  expect({ ...got, cookie: { ...got.cookie, expires: want.cookie.expires } }).toEqual(want);
  expect([String(want.cookie.expires), new Date(rowMs ?? Number.NaN).toISOString()]).toContain(String(got.cookie.expires));
}

/**
 * Tables written by the published connect-session-knex 5 keep working: sessions it wrote are read, touched, replaced,
 * destroyed and swept by this store; and the other way round (a rollback), sessions this store wrote in a table it
 * created are read, touched, replaced and destroyed by connect-session-knex 5.
 */
export function describeUpgrade(options: UpgradeOptions): void {
  describe(`${options.name}: tables of the published connect-session-knex 5`, () => {
    let knex: Knex;
    const tables: string[] = [];
    const stores: Array<{ close?: () => unknown }> = [];

    const expiryOf = async (tableName: string, sid: string): Promise<number | null> => {
      const row = (await knex(tableName)
        .select(knex.raw(`${options.expiryMsExpression} as ??`, ['expired', 'value']))
        .where('sid', sid)
        .first()) as { value: unknown } | undefined;
      return row ? Number(row.value) : null;
    };
    const ours = (tableName: string): KnexStore => {
      const store = options.createStore({ knex, tableName, cleanupInterval: 0 });
      stores.push(store);
      return store;
    };
    const upstream = (tableName: string): UpstreamStore => options.createUpstream({ knex, tableName, cleanupInterval: 0 });
    /** A new table name, dropped in afterAll, and three sids unique to this run. */
    const newTable = (label: string, ...names: [string, string, string]): [string, string, string, string] => {
      const tableName = uniqueTableName(label);
      tables.push(tableName);
      const run = randomId();
      const [x, y, z] = names.map((name) => `${name}-${run}`) as [string, string, string];
      return [tableName, x, y, z];
    };
    /**
     * `writer` moves the expiry of `sid`, which `reader` then reads unchanged (a touch writes the expiry only), and
     * replaces its data, which `reader` then reads. Returns the replacement.
     */
    const touchThenReplace = async (
      tableName: string,
      sid: string,
      steps: { writer: Writable; reader: Writable; original: SessionData; touchedData: Data; replacedData: Data },
    ): Promise<SessionData> => {
      const { writer, reader, original } = steps;
      const touched = session(3 * HOUR, steps.touchedData);
      await writer.touch(sid, touched);
      const expiry = await expiryOf(tableName, sid);
      // The table may keep whole seconds only (version 5's DATETIME on MySQL).
      expect(Math.abs(expiry! - expiresOf(touched))).toBeLessThan(SECOND);
      expectRead(await reader.get(sid), original, await expiryOf(tableName, sid));

      const replaced = session(HOUR, steps.replacedData);
      await writer.set(sid, replaced);
      expectRead(await reader.get(sid), replaced, await expiryOf(tableName, sid));
      return replaced;
    };

    beforeAll(async () => {
      knex = await options.createKnex();
    });

    afterAll(async () => {
      for (const store of stores) await store.close?.();
      for (const name of tables) await knex?.schema.dropTableIfExists(name);
      await knex?.destroy();
    });

    test('upgrade: sessions written by version 5 are read, touched, replaced, destroyed and swept', async () => {
      const [tableName, a, b, expired] = newTable('v5up', 'a', 'b', 'expired');
      const old = upstream(tableName);
      await old.ready;
      const sessionA = session(HOUR, { user: 'ada', cart: [1, 2, { sku: 'x' }] });
      const sessionB = session(2 * HOUR, { user: 'brian' });
      await old.set(a, sessionA);
      await old.set(b, sessionB);
      await old.set(expired, session(-MINUTE, { user: 'gone' }));

      const store = ours(tableName);
      await store.ready;
      expectRead(await store.get(a), sessionA, await expiryOf(tableName, a));
      expectRead(await store.get(b), sessionB, await expiryOf(tableName, b));
      expect(await store.get(expired)).toBeNull();
      expect(await store.length()).toBe(2);
      expect(((await store.ids()) ?? []).sort()).toEqual([a, b].sort());
      expect(Object.keys((await store.allById()) ?? {}).sort()).toEqual([a, b].sort());

      const replaced = await touchThenReplace(tableName, a, {
        writer: store,
        reader: old,
        original: sessionA,
        touchedData: { user: 'ada', cart: [1, 2, { sku: 'x' }] },
        replacedData: { user: 'ada', step: 2 },
      });
      expectRead(await store.get(a), replaced, await expiryOf(tableName, a));

      expect(await store.destroy(b)).toBe(1);
      expect(await old.get(b)).toBeNull();
      expect(await store.prune()).toBe(1);
      expect(await expiryOf(tableName, expired)).toBeNull();
      expectRead(await store.get(a), replaced, await expiryOf(tableName, a));
    });

    test('rollback: sessions written by this store are read, touched, replaced and destroyed by version 5', async () => {
      const [tableName, a, b, c] = newTable('v5down', 'a', 'b', 'c');
      const store = ours(tableName);
      await store.ready;
      const sessionA = session(HOUR, { user: 'ada', nested: { deep: [true, null, 'ü'] } });
      const sessionB = session(2 * HOUR, { user: 'brian' });
      await store.set(a, sessionA);
      await store.set(b, sessionB);

      const old = upstream(tableName);
      await old.ready;
      expectRead(await old.get(a), sessionA, await expiryOf(tableName, a));
      expectRead(await old.get(b), sessionB, await expiryOf(tableName, b));

      await touchThenReplace(tableName, a, {
        writer: old,
        reader: store,
        original: sessionA,
        touchedData: { user: 'ada' },
        replacedData: { user: 'ada', step: 3 },
      });
      const fresh = session(HOUR, { user: 'carol' });
      await old.set(c, fresh);
      expectRead(await store.get(c), fresh, await expiryOf(tableName, c));

      await old.destroy(b);
      expect(await store.get(b)).toBeNull();
      expect(((await store.ids()) ?? []).sort()).toEqual([a, c].sort());
      const all = (await old.all()) as unknown[];
      expect(all).toHaveLength(2);
    });
  });
}
