// Tables in a schema of their own: a hostile schemaName, and a dotted tableName read as schema.table.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import type { KnexStore } from '@csk/core';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, liveSession, roundTrip, sessionExpiringAt } from '../util.js';

/**
 * Create a schema (a database, on MySQL and MariaDB) under a hostile name, or say that this suite creates none on the
 * dialect (SQL Server and Oracle: knex has no portable way, and no server of either runs here).
 */
async function createSchema(knex: Knex, name: string): Promise<boolean> {
  const dialect = String((knex.client as { dialect?: unknown }).dialect ?? '');
  if (dialect === 'postgresql') {
    await knex.schema.createSchema(name);
    return true;
  }
  if (dialect === 'mysql') {
    await knex.raw('create database ??', [name]);
    return true;
  }
  return false;
}

/** Drop what createSchema made (its table first, so that no engine refuses a schema that is not empty). */
async function dropSchema(knex: Knex, name: string, tableName: string): Promise<void> {
  const dialect = String((knex.client as { dialect?: unknown }).dialect ?? '');
  await knex.schema.withSchema(name).dropTableIfExists(tableName);
  if (dialect === 'mysql') await knex.raw('drop database if exists ??', [name]);
  else await knex.schema.dropSchemaIfExists(name);
}

/**
 * The schema of one describe block (call it there): created before its tests and dropped after them, with every store
 * `open` made closed first. `created()` says whether the schema exists (false where the suite creates none).
 */
function schemaFixture(ctx: SuiteContext, schemaName: string, tableName: string) {
  let created = false;
  const stores: KnexStore[] = [];
  beforeAll(async () => {
    created = await createSchema(ctx.knex, schemaName);
  });
  afterAll(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    if (created) await dropSchema(ctx.knex, schemaName, tableName);
  });
  return {
    created: (): boolean => created,
    open: (options: Record<string, unknown>): KnexStore => {
      const store = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, ...options });
      stores.push(store);
      return store;
    },
  };
}

/**
 * A hostile schema name, where the suite can create one (PostgreSQL schemas, MySQL and MariaDB databases); where the
 * dialect has none, the option is refused at construction.
 */
export function hostileSchemaCases(ctx: SuiteContext, schemaName: string, tableName: string): void {
  describe('a hostile schema name', () => {
    const schema = schemaFixture(ctx, schemaName, tableName);
    const open = (): KnexStore => schema.open({ schemaName, tableName });
    const rows = (): Knex.QueryBuilder => ctx.knex.withSchema(schemaName).table(tableName);

    it('holds the table, and the whole store works in it; or is refused at construction', async () => {
      let store: KnexStore;
      try {
        store = open();
      } catch (error) {
        // Only a dialect without schemas may refuse it, and only as a ConfigurationError naming the option.
        expect(schema.created()).toBe(false);
        expect(error).toMatchObject({ name: 'ConfigurationError', option: 'schemaName' });
        return;
      }
      if (!schema.created()) {
        // A dialect with schemas that this suite cannot create one on: the store must still fail cleanly.
        await expect(store.ready).rejects.toMatchObject({ name: expect.stringMatching(/Error$/) });
        return;
      }
      await store.ready;
      expect(await ctx.knex.schema.withSchema(schemaName).hasTable(tableName)).toBe(true);
      expect(await ctx.knex.schema.hasTable(tableName)).toBe(false);
      // The next start of the app finds the table where it is.
      await open().ready;

      const session = liveSession({ in: 'schema' });
      await store.set('s1', session);
      await store.set('s2', liveSession());
      await expect(store.get('s1')).resolves.toEqual(roundTrip(session));
      await store.touch('s1', sessionExpiringAt(Date.now() + 2 * HOUR));
      expect(Object.keys((await store.allById()) ?? {}).sort()).toEqual(['s1', 's2']);
      await expect(store.length()).resolves.toBe(2);
      await rows().insert({
        sid: 'old',
        sess: '{}',
        expired: store.adapter.encodeExpiry(Date.now() - MINUTE, ctx.knex),
      });
      await expect(store.prune()).resolves.toBe(1);
      await expect(store.destroy('s2')).resolves.toBe(1);
      expect((await rows().pluck('sid')).map(String)).toEqual(['s1']);
      await expect(store.clear()).resolves.toBe(1);
    });
  });
}

/**
 * `tableName: 'schema.table'`, as connect-session-knex 5 handed it to knex: the store uses that table in that schema,
 * as with `schemaName` and `tableName` apart; where the dialect has no schemas, it is refused at construction.
 */
export function dottedTableNameCases(ctx: SuiteContext, schemaName: string, tableName: string): void {
  describe('a dotted tableName', () => {
    const schema = schemaFixture(ctx, schemaName, tableName);
    const open = schema.open;

    it('means schemaName + tableName: the table is made and used in that schema; or is refused at construction', async () => {
      let dotted: KnexStore;
      try {
        dotted = open({ tableName: `${schemaName}.${tableName}` });
      } catch (error) {
        expect(schema.created()).toBe(false);
        expect(error).toMatchObject({ name: 'ConfigurationError', option: 'schemaName' });
        expect(String((error as Error).message)).toContain('dotted tableName');
        return;
      }
      if (!schema.created()) {
        await expect(dotted.ready).rejects.toMatchObject({ name: expect.stringMatching(/Error$/) });
        return;
      }
      await dotted.ready;
      expect(dotted.table).toMatchObject({ schemaName, tableName });
      expect(await ctx.knex.schema.withSchema(schemaName).hasTable(tableName)).toBe(true);
      // The next start finds the table (v5 never did, and tried to create it again at every start).
      await open({ tableName: `${schemaName}.${tableName}` }).ready;

      const session = liveSession({ dotted: true });
      await dotted.set('s1', session);
      const apart = open({ schemaName, tableName });
      await expect(apart.get('s1')).resolves.toEqual(roundTrip(session));
      await dotted.touch('s1', sessionExpiringAt(Date.now() + 2 * HOUR, { dotted: true }));
      await expect(apart.length()).resolves.toBe(1);
      await expect(dotted.destroy('s1')).resolves.toBe(1);
      await expect(apart.get('s1')).resolves.toBeNull();
    });
  });
}
