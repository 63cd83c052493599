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
function session(lifetimeMs: number, data: Record<string, unknown>): SessionData {
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

    beforeAll(async () => {
      knex = await options.createKnex();
    });

    afterAll(async () => {
      for (const store of stores) await store.close?.();
      for (const name of tables) await knex?.schema.dropTableIfExists(name);
      await knex?.destroy();
    });

    test('upgrade: sessions written by version 5 are read, touched, replaced, destroyed and swept', async () => {
      const tableName = uniqueTableName('v5up');
      tables.push(tableName);
      const old = upstream(tableName);
      await old.ready;
      const run = randomId();
      const [a, b, expired] = [`a-${run}`, `b-${run}`, `expired-${run}`];
      const sessionA = session(HOUR, { user: 'ada', cart: [1, 2, { sku: 'x' }] });
      const sessionB = session(2 * HOUR, { user: 'brian' });
      await old.set(a, sessionA);
      await old.set(b, sessionB);
      await old.set(expired, session(-MINUTE, { user: 'gone' }));

      const store = ours(tableName);
      await store.ready;
      expect(await store.get(a)).toEqual(stored(sessionA));
      expect(await store.get(b)).toEqual(stored(sessionB));
      expect(await store.get(expired)).toBeNull();
      expect(await store.length()).toBe(2);
      expect(((await store.ids()) ?? []).sort()).toEqual([a, b].sort());
      expect(Object.keys((await store.all()) ?? {}).sort()).toEqual([a, b].sort());

      const touched = session(3 * HOUR, { user: 'ada', cart: [1, 2, { sku: 'x' }] });
      await store.touch(a, touched);
      const expiry = await expiryOf(tableName, a);
      // The table may keep whole seconds only (version 5's DATETIME on MySQL).
      expect(Math.abs(expiry! - expiresOf(touched))).toBeLessThan(SECOND);
      expect(await old.get(a)).toEqual(stored(sessionA));

      const replaced = session(HOUR, { user: 'ada', step: 2 });
      await store.set(a, replaced);
      expect(await old.get(a)).toEqual(stored(replaced));
      expect(await store.get(a)).toEqual(stored(replaced));

      expect(await store.destroy(b)).toBe(1);
      expect(await old.get(b)).toBeNull();
      expect(await store.prune()).toBe(1);
      expect(await expiryOf(tableName, expired)).toBeNull();
      expect(await store.get(a)).toEqual(stored(replaced));
    });

    test('rollback: sessions written by this store are read, touched, replaced and destroyed by version 5', async () => {
      const tableName = uniqueTableName('v5down');
      tables.push(tableName);
      const store = ours(tableName);
      await store.ready;
      const run = randomId();
      const [a, b, c] = [`a-${run}`, `b-${run}`, `c-${run}`];
      const sessionA = session(HOUR, { user: 'ada', nested: { deep: [true, null, 'ü'] } });
      const sessionB = session(2 * HOUR, { user: 'brian' });
      await store.set(a, sessionA);
      await store.set(b, sessionB);

      const old = upstream(tableName);
      await old.ready;
      expect(await old.get(a)).toEqual(stored(sessionA));
      expect(await old.get(b)).toEqual(stored(sessionB));

      const touched = session(3 * HOUR, { user: 'ada' });
      await old.touch(a, touched);
      const expiry = await expiryOf(tableName, a);
      expect(Math.abs(expiry! - expiresOf(touched))).toBeLessThan(SECOND);
      expect(await store.get(a)).toEqual(stored(sessionA));

      const replaced = session(HOUR, { user: 'ada', step: 3 });
      await old.set(a, replaced);
      expect(await store.get(a)).toEqual(stored(replaced));
      const fresh = session(HOUR, { user: 'carol' });
      await old.set(c, fresh);
      expect(await store.get(c)).toEqual(stored(fresh));

      await old.destroy(b);
      expect(await store.get(b)).toBeNull();
      expect(((await store.ids()) ?? []).sort()).toEqual([a, c].sort());
      const all = (await old.all()) as unknown[];
      expect(all).toHaveLength(2);
    });
  });
}
