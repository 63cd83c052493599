import { knex as createKnex, type Knex } from 'knex';
import type { SessionData } from 'express-session';
import { describeBlackHole } from '@csk/conformance/scenarios/black-hole';
import { describeLive } from '@csk/conformance/scenarios/live';
import { PostgresStore, type PostgresStoreOptions } from '@csk/postgres';
import { pgliteKnex, serverConfig } from './targets';

const HOUR = 3_600_000;
const session = (data: Record<string, unknown>, ms = Date.now() + HOUR): SessionData =>
  ({ cookie: { originalMaxAge: HOUR, expires: new Date(ms), httpOnly: true, path: '/' }, ...data }) as unknown as SessionData;
const suffix = Math.random().toString(16).slice(2, 10);

/** What the catalogue says about a column. */
async function columnType(knex: Knex, schema: string, table: string, column: string): Promise<string | undefined> {
  const row = (await knex('information_schema.columns')
    .select('data_type')
    .where({ table_schema: schema, table_name: table, column_name: column })
    .first()) as { data_type: string } | undefined;
  return row?.data_type;
}

function describePostgres(name: string, makeKnex: () => Knex): void {
  describe(name, () => {
    let knex: Knex;
    const stores: PostgresStore[] = [];
    const schema = `Csk Schema "${suffix}"`;
    const open = (options: Omit<PostgresStoreOptions, 'knex'>): PostgresStore => {
      const store = new PostgresStore({ cleanupInterval: 0, ...options, knex });
      stores.push(store);
      return store;
    };

    beforeAll(async () => {
      knex = makeKnex();
      await knex.schema.createSchema(schema);
    });

    afterAll(async () => {
      await Promise.all(stores.map((store) => store.close()));
      await knex.schema.dropSchemaIfExists(schema, true);
      await knex.destroy();
    });

    it('creates and uses its table in schemaName, however the names are spelled', async () => {
      const tableName = `Sessions 'of' "App"`;
      const store = open({ schemaName: schema, tableName, sidFieldName: 'Session ID' });
      await store.set('Abc', session({ n: 1 }));
      await store.set('abc', session({ n: 2 }));
      expect(await store.get('Abc')).toMatchObject({ n: 1 });
      expect(await store.get('abc')).toMatchObject({ n: 2 });
      expect(await columnType(knex, schema, tableName, 'sess')).toBe('json');
      expect(await columnType(knex, schema, tableName, 'expired')).toBe('timestamp with time zone');
      expect(await columnType(knex, schema, tableName, 'Session ID')).toBe('character varying');
      // Nothing leaked into the default schema.
      expect(await knex.schema.hasTable(tableName)).toBe(false);
      expect(Number((await knex.withSchema(schema).table(tableName).count({ n: '*' }).first())?.n)).toBe(2);
    });

    it('prune reports the rows it deleted, in batches, and keeps the live ones', async () => {
      const tableName = `prune_${suffix}`;
      const store = open({ schemaName: schema, tableName });
      await store.ready;
      const past = new Date(Date.now() - HOUR).toISOString();
      const rows = Array.from({ length: 1234 }, (_, i) => ({ sid: `old-${i}`, sess: '{}', expired: past }));
      for (let i = 0; i < rows.length; i += 500) await knex.withSchema(schema).table(tableName).insert(rows.slice(i, i + 500));
      await store.set('live', session({ live: true }));
      expect(await store.prune()).toBe(1234);
      expect(await store.ids()).toEqual(['live']);
    });

    it('writes no new row version for a touch that finds its expiry already stored, alone or in a batch', async () => {
      const tableName = `xmin_${suffix}`;
      const store = open({ schemaName: schema, tableName });
      // A whole second plus 100 ms, an hour away: stored as the next whole second, which the touches below keep.
      const at = Math.floor(Date.now() / 1000) * 1000 + HOUR + 100;
      await Promise.all([store.set('x', session({ n: 1 }, at)), store.set('y', session({ n: 2 }, at))]);
      const versions = async (): Promise<string[]> => {
        const rows = await knex.withSchema(schema).table(tableName).select(knex.raw('xmin::text as ??', ['v'])).orderBy('sid');
        return (rows as Array<{ v: string }>).map((row) => row.v);
      };
      const written = await versions();
      await store.touch('x', session({ n: 1 }, at + 1));
      await Promise.all([store.touch('x', session({ n: 1 }, at + 2)), store.touch('y', session({ n: 2 }, at + 3))]);
      expect(await versions()).toEqual(written);
      await Promise.all([store.touch('x', session({ n: 1 }, at + 1000)), store.touch('y', session({ n: 2 }, at + 3))]);
      const [x, y] = await versions();
      expect(x).not.toBe(written[0]);
      expect(y).toBe(written[1]);
    });

    describe('jsonb: true', () => {
      it('creates sess as jsonb, and sessions round-trip through it', async () => {
        const tableName = `jsonb_${suffix}`;
        const store = open({ schemaName: schema, tableName, jsonb: true });
        const data = { user: { id: 7, roles: ['a', 'b'] }, text: 'ü 😀 "q"', n: 1.5, nil: null };
        await store.set('j', session(data));
        expect(await store.get('j')).toMatchObject(data);
        expect(await columnType(knex, schema, tableName, 'sess')).toBe('jsonb');
      });

      it('a json store works on a jsonb table, and a jsonb store on a json table', async () => {
        const jsonbTable = `jsonb2_${suffix}`;
        await open({ schemaName: schema, tableName: jsonbTable, jsonb: true }).ready;
        const onJsonb = open({ schemaName: schema, tableName: jsonbTable });
        await onJsonb.set('x', session({ x: 1 }));
        expect(await onJsonb.get('x')).toMatchObject({ x: 1 });

        const jsonTable = `json2_${suffix}`;
        await open({ schemaName: schema, tableName: jsonTable }).ready;
        const onJson = open({ schemaName: schema, tableName: jsonTable, jsonb: true });
        await onJson.set('y', session({ y: 1 }));
        expect(await onJson.get('y')).toMatchObject({ y: 1 });
        expect(await columnType(knex, schema, jsonTable, 'sess')).toBe('json');
      });

      it('fails the set of a session holding a NUL character (jsonb cannot store \\u0000); json keeps it', async () => {
        const store = open({ schemaName: schema, tableName: `jsonb3_${suffix}`, jsonb: true });
        await expect(store.set('nul', session({ text: 'a\u0000b' }))).rejects.toMatchObject({ name: 'DatabaseError' });
        const json = open({ schemaName: schema, tableName: `json3_${suffix}` });
        await json.set('nul', session({ text: 'a\u0000b' }));
        expect(await json.get('nul')).toMatchObject({ text: 'a\u0000b' });
      });
    });
  });
}

describePostgres('PGlite (knex-pglite)', pgliteKnex);

describeLive('CSK_PG_URL', 'PostgreSQL server', (url) => {
  describePostgres('PostgreSQL (pg)', () => createKnex(serverConfig(url)));
});

describeBlackHole(
  'PostgreSQL (pg)',
  (port) => ({ client: 'pg', connection: { host: '127.0.0.1', port, user: 'postgres', database: 'csk' } }),
  (options) => new PostgresStore(options),
  createKnex,
);
