import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import type { KnexStore } from '@csk/core';
import { tableKeys } from '../introspect.js';
import { expiryMs, sessionValue } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, SECOND, errorName, liveSession, randomId, roundTrip, sessionExpiringAt } from '../util.js';

/**
 * Names knex would not keep as written (it trims, reads "?" as a parameter, " as " as an alias, "." as a schema;
 * a tableName of one dot is read as schema.table, see dottedTableNameCases).
 */
const REFUSED_NAMES: Array<[string, string]> = [
  ['a NUL', 'ses\u0000sions'],
  ['two dots', 'a.b.sessions'],
  ['a question mark', 'sess?ions'],
  ['" as "', 'sessions as s'],
  ['" AS " in capitals', 'sessions AS s'],
  ['a leading space', ' sessions'],
  ['a trailing tab', 'sessions\t'],
  ['"*"', '*'],
  ['a lone surrogate', 'sessions\ud800'],
  ['nothing but spaces', '   '],
  ['129 characters', 's'.repeat(129)],
];

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

/** Table and column names reach SQL through knex's quoting only: hostile ones work and touch nothing else. */
export function identifierCases(ctx: SuiteContext): void {
  const suffix = randomId();
  // Short, so that a name holding it stays inside every engine's identifier limit (MySQL: 64, with knex's index suffix).
  const canary = `csk_canary_${suffix}`;
  // Each would drop the canary if any part of the store spliced it into SQL text, whichever quote the engine uses.
  const injection = `;DROP TABLE ${canary};--`;

  describe('hostile table and column names', () => {
    // Registered before the scopes' hooks, so the canary exists before any hostile table is created.
    beforeAll(async () => {
      await ctx.knex.schema.createTable(canary, (table) => {
        table.string('name', 64).primary();
      });
      await ctx.knex.table(canary).insert({ name: 'untouched' });
    });
    afterAll(async () => {
      await ctx.knex.schema.dropTableIfExists(canary);
    });

    hostileTableCases(ctx, 'quotes, spaces and a semicolon', `We"ird 'Tab; le_${suffix}`, 's"id');
    hostileTableCases(
      ctx,
      'every quote character and a DROP TABLE',
      `Mixed"\`]' ${injection}`,
      `Sid\`]"' ${injection}`,
    );
    hostileSchemaCases(ctx, `Sch"em\`a]; ${suffix}`, `Tab"le\`]' ${injection}`);
    dottedTableNameCases(ctx, `csk_dot_${suffix}`, 'sessions');

    describe.each(['tableName', 'schemaName', 'sidFieldName'] as const)('%s', (option) => {
      it.each(REFUSED_NAMES)('holding %s is refused at construction with a ConfigurationError', (_title, name) => {
        let thrown: unknown;
        try {
          ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, [option]: name });
        } catch (error) {
          thrown = error;
        }
        expect(errorName(thrown)).toBe('ConfigurationError');
        expect((thrown as { option?: unknown }).option).toBe(option);
      });
    });

    identifierLimitCases(ctx, `csk_limit_${suffix}`);

    it('left every other table alone', async () => {
      expect(await ctx.knex.table(canary).select('name')).toEqual([{ name: 'untouched' }]);
    });
  });
}

/**
 * The whole store on a table and sid column of hostile names, in the connection's own schema; or, where the dialect
 * cannot keep such a name as written, a ConfigurationError from the constructor naming the option.
 */
function hostileTableCases(ctx: SuiteContext, title: string, tableName: string, sidColumn: string): void {
  describe(title, () => {
    const stores: KnexStore[] = [];
    let store: KnexStore | undefined;
    let refusal: unknown;
    const open = (): KnexStore => {
      const opened = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, tableName, sidFieldName: sidColumn });
      stores.push(opened);
      return opened;
    };
    const rows = (): Knex.QueryBuilder => ctx.knex.table(tableName);
    const readRow = async (sid: string): Promise<{ sess: unknown; expiresMs: number } | undefined> => {
      const row = (await rows().where(sidColumn, sid).first()) as Record<string, unknown> | undefined;
      return row && { sess: sessionValue(row.sess), expiresMs: expiryMs(row.expired) };
    };
    const sidsStored = async (): Promise<string[]> => (await rows().pluck(sidColumn)).map(String).sort();

    beforeAll(async () => {
      try {
        store = open();
      } catch (error) {
        refusal = error;
        return;
      }
      await store.ready;
    });
    afterAll(async () => {
      await Promise.allSettled(stores.map((opened) => opened.close()));
      await ctx.knex.schema.dropTableIfExists(tableName);
    });

    /** The store, or undefined once the refusal has been checked: a ConfigurationError naming one of the two options. */
    const accepted = (): KnexStore | undefined => {
      if (refusal === undefined) return store;
      expect(refusal).toMatchObject({
        name: 'ConfigurationError',
        option: expect.stringMatching(/^(tableName|sidFieldName)$/),
      });
      return undefined;
    };

    it('creates the table under exactly that name, with the sid column so named (or is refused at construction)', async () => {
      const hostile = accepted();
      if (!hostile) return;
      // A row read back through the quoted name shows the columns (knex's hasTable and columnInfo on SQLite mangle a
      // name holding a backtick, so neither can be asked).
      await hostile.set('probe', liveSession());
      expect(Object.keys((await rows().first()) as object).sort()).toEqual(['expired', sidColumn, 'sess'].sort());
      await hostile.destroy('probe');
      const keys = await tableKeys(ctx.knex, tableName);
      expect(keys.primaryKey).toEqual([sidColumn]);
      expect(keys.indexes.filter((columns) => columns[0] === 'expired')).toHaveLength(1);
    });

    it('set, get, touch and destroy work end to end', async () => {
      const hostile = accepted();
      if (!hostile) return;
      const sid = `it's a "sid"; --`;
      const session = liveSession({ quote: `'"\`]` });
      await hostile.set(sid, session);
      await expect(hostile.get(sid)).resolves.toEqual(roundTrip(session));
      expect((await readRow(sid))?.sess).toEqual(roundTrip(session));

      const later = Date.now() + 3 * HOUR + 9;
      await hostile.touch(sid, sessionExpiringAt(later));
      const touched = (await readRow(sid))?.expiresMs ?? Number.NaN;
      // Within a second: some engines' columns keep whole seconds.
      expect(Math.abs(touched - later)).toBeLessThanOrEqual(SECOND);

      await hostile.destroy(sid);
      expect(await readRow(sid)).toBeUndefined();
    });

    it('all, length, ids, prune and clear work end to end', async () => {
      const hostile = accepted();
      if (!hostile) return;
      await hostile.set('a', liveSession({ a: 1 }));
      await hostile.set('b', liveSession({ b: 1 }));
      await rows().insert({
        [sidColumn]: 'old',
        sess: '{}',
        expired: hostile.adapter.encodeExpiry(Date.now() - MINUTE, ctx.knex),
      });
      expect(Object.keys((await hostile.allById()) ?? {}).sort()).toEqual(['a', 'b']);
      await expect(hostile.length()).resolves.toBe(2);
      expect([...((await hostile.ids()) ?? [])].sort()).toEqual(['a', 'b']);
      await expect(hostile.prune()).resolves.toBe(1);
      await hostile.destroy(['a']);
      expect(await sidsStored()).toEqual(['b']);
    });

    it('a second store (the next start of the app) finds the existing table and reads its sessions', async () => {
      const hostile = accepted();
      if (!hostile) return;
      const session = liveSession({ before: 'restart' });
      await hostile.set('kept', session);
      const next = open();
      await next.ready;
      await expect(next.get('kept')).resolves.toEqual(roundTrip(session));
      await next.clear();
      expect(await sidsStored()).toEqual([]);
    });
  });
}

/**
 * A hostile schema name, where the suite can create one (PostgreSQL schemas, MySQL and MariaDB databases); where the
 * dialect has none, the option is refused at construction.
 */
function hostileSchemaCases(ctx: SuiteContext, schemaName: string, tableName: string): void {
  describe('a hostile schema name', () => {
    let created = false;
    const stores: KnexStore[] = [];
    const open = (): KnexStore => {
      const store = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, schemaName, tableName });
      stores.push(store);
      return store;
    };
    const rows = (): Knex.QueryBuilder => ctx.knex.withSchema(schemaName).table(tableName);

    beforeAll(async () => {
      created = await createSchema(ctx.knex, schemaName);
    });
    afterAll(async () => {
      await Promise.allSettled(stores.map((store) => store.close()));
      if (created) await dropSchema(ctx.knex, schemaName, tableName);
    });

    it('holds the table, and the whole store works in it; or is refused at construction', async () => {
      let store: KnexStore;
      try {
        store = open();
      } catch (error) {
        // Only a dialect without schemas may refuse it, and only as a ConfigurationError naming the option.
        expect(created).toBe(false);
        expect(error).toMatchObject({ name: 'ConfigurationError', option: 'schemaName' });
        return;
      }
      if (!created) {
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
function dottedTableNameCases(ctx: SuiteContext, schemaName: string, tableName: string): void {
  describe('a dotted tableName', () => {
    let created = false;
    const stores: KnexStore[] = [];
    const open = (options: Record<string, unknown>): KnexStore => {
      const store = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, ...options });
      stores.push(store);
      return store;
    };

    beforeAll(async () => {
      created = await createSchema(ctx.knex, schemaName);
    });
    afterAll(async () => {
      await Promise.allSettled(stores.map((store) => store.close()));
      if (created) await dropSchema(ctx.knex, schemaName, tableName);
    });

    it('means schemaName + tableName: the table is made and used in that schema; or is refused at construction', async () => {
      let dotted: KnexStore;
      try {
        dotted = open({ tableName: `${schemaName}.${tableName}` });
      } catch (error) {
        expect(created).toBe(false);
        expect(error).toMatchObject({ name: 'ConfigurationError', option: 'schemaName' });
        expect(String((error as Error).message)).toContain('dotted tableName');
        return;
      }
      if (!created) {
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

/**
 * A dialect's identifier limit (`maxIdentifierLength`): a column name exactly at the limit, in multi-byte characters
 * where the limit counts bytes, is kept as written and used end to end; one unit more is refused at construction,
 * naming the option, instead of being truncated onto another name or failing at the first statement.
 */
function identifierLimitCases(ctx: SuiteContext, tableName: string): void {
  describe("a column name at the dialect's identifier limit", () => {
    const stores: KnexStore[] = [];
    afterAll(async () => {
      await Promise.allSettled(stores.map((store) => store.close()));
      await ctx.knex.schema.dropTableIfExists(tableName);
    });

    it('is used as written, and one unit longer is refused with a ConfigurationError', async () => {
      const probe = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, createTable: false });
      const limit = probe.adapter.capabilities.maxIdentifierLength;
      await probe.close();
      if (!limit) return;
      // Two-byte characters fill a byte limit with half as many characters; one more character would pass it.
      const unit = limit.unit === 'bytes' ? '\u00e9' : 's';
      const fits = limit.unit === 'bytes' ? unit.repeat(Math.floor(limit.length / 2)) + 'x'.repeat(limit.length % 2) : unit.repeat(limit.length);
      const over = `${fits}${unit}`;
      let thrown: unknown;
      try {
        ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, tableName, sidFieldName: over });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ name: 'ConfigurationError', option: 'sidFieldName' });

      const store = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, tableName, sidFieldName: fits });
      stores.push(store);
      await store.ready;
      const session = liveSession({ at: 'the limit' });
      await store.set('limit', session);
      await expect(store.get('limit')).resolves.toEqual(roundTrip(session));
      expect(await ctx.knex.table(tableName).where(fits, 'limit').pluck(fits)).toEqual(['limit']);
    });
  });
}
