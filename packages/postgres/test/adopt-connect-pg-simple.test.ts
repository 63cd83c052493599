import { PGlite } from '@electric-sql/pglite';
import connectPgSimple, { type PGStoreOptions } from 'connect-pg-simple';
import session from 'express-session';
import { knex as createKnex, type Knex } from 'knex';
import ClientPGlite from 'knex-pglite';
import pg from 'pg';
import { describeAdoption } from '@csk/conformance/scenarios/adopt';
import { describeLive } from '@csk/conformance/scenarios/live';
import { PostgresStore } from '@csk/postgres';

// Adopting connect-pg-simple's table in place: the published connect-pg-simple creates its table (table.sql: sid
// varchar, sess json, expire timestamp(6) WITHOUT time zone) and writes first; PostgresStore then works on the same
// rows, and connect-pg-simple still reads what PostgresStore wrote, so that the two can run side by side during a
// rolling migration. connect-pg-simple writes `to_timestamp(seconds)` into a column without a time zone, which keeps
// the wall-clock time of the session's TimeZone: every check runs under UTC and under zones ahead of and behind it.

const PeerStore = connectPgSimple(session);
/** Ahead of UTC by 13:45 (a quarter-hour offset), behind it by 3:30 or 2:30: a wrong conversion shows either way. */
const ZONES = ['UTC', 'Pacific/Chatham', 'America/St_Johns'] as const;
const suffix = Math.random().toString(16).slice(2, 10);

/** One of connect-pg-simple's callback methods as a promise. */
function peerCall<T = unknown>(start: (done: (error: Error | null, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value)));
  });
}

/** The databases both stores share: a knex for PostgresStore and the pool options for connect-pg-simple. */
interface Shared {
  knex: Knex;
  peer: Pick<PGStoreOptions, 'pool' | 'pgPromise'>;
  /** The TimeZone connect-pg-simple's connection runs under. */
  peerZone(): Promise<string>;
  close(): Promise<void>;
}

/** One in-memory PGlite (a single connection) for both stores, connect-pg-simple reaching it as a pg-promise. */
async function pgliteShared(zone: string): Promise<Shared> {
  const db = new PGlite();
  await db.exec(`set time zone '${zone}'`);
  const knex = createKnex({ client: ClientPGlite, connection: { pglite: db } } as Knex.Config);
  const any = async (query: string, values: unknown[]): Promise<unknown[]> =>
    // connect-pg-simple sends its table.sql (several statements) without values: PGlite runs those through exec.
    values.length > 0 ? (await db.query(query, values)).rows : ((await db.exec(query)).at(-1)?.rows ?? []);
  return {
    knex,
    peer: { pgPromise: { any } },
    peerZone: async () => String(((await any('show timezone', [])) as Array<{ TimeZone: string }>)[0]?.TimeZone),
    // Destroying the knex closes its PGlite.
    close: () => knex.destroy(),
  };
}

/** A PostgreSQL server: a pg pool for connect-pg-simple, a knex for PostgresStore, both in the session TimeZone `zone`. */
async function serverShared(url: string, zone: string): Promise<Shared> {
  const options = `-c TimeZone=${zone}`;
  const pool = new pg.Pool({ connectionString: url, options, max: 4 });
  const knex = createKnex({ client: 'pg', connection: { connectionString: url, options }, pool: { min: 0, max: 4 } });
  return {
    knex,
    peer: { pool },
    peerZone: async () => String((await pool.query<{ TimeZone: string }>('show timezone')).rows[0]?.TimeZone),
    close: async () => {
      await knex.destroy();
      await pool.end();
    },
  };
}

function describeAdoptionIn(name: string, open: () => Promise<Shared>, zone: string): void {
  const schemaName = `csk_adopt_${suffix}_${zone.replace(/\W/g, '_').toLowerCase()}`;
  describeAdoption({
    name: `${name}, session TimeZone ${zone}`,
    peerName: 'connect-pg-simple',
    tableTitle: `both connections run under ${zone}, and the table is connect-pg-simple's own`,
    createStore: (options) => new PostgresStore(options),
    missing: undefined,
    // connect-pg-simple rounds its expiry up to the second, in the session's zone.
    peerExpiry: (ms) => Math.ceil(ms / 1000) * 1000,
    expectStoreExpiry: (stored, ms) => expect(stored).toBe(ms),
    async setup() {
      const shared = await open();
      try {
        await shared.knex.schema.createSchema(schemaName);
      } catch (error) {
        // No adoption to close yet: release what there is.
        await shared.close();
        throw error;
      }
      const peer = new PeerStore({
        ...shared.peer,
        schemaName,
        tableName: 'session',
        createTableIfMissing: true,
        pruneSessionInterval: false,
      });
      return {
        peer: {
          get: (sid) => peerCall((done) => peer.get(sid, done)),
          set: (sid, sess) => peerCall((done) => peer.set(sid, sess, done)),
          touch: (sid, sess) => peerCall((done) => peer.touch(sid, sess, done)),
          destroy: (sid) => peerCall((done) => peer.destroy(sid, done)),
          prune: () => peerCall((done) => peer.pruneSessions(done)),
          close: () => peer.close(),
        },
        storeOptions: {
          knex: shared.knex,
          schemaName,
          tableName: 'session',
          sidFieldName: 'sid',
          sessFieldName: 'sess',
          expiredFieldName: 'expire',
        },
        // Read as connect-pg-simple means it: wall-clock time of the session's zone.
        async storedExpiry(sid) {
          const row = (await shared.knex
            .withSchema(schemaName)
            .table('session')
            .select(shared.knex.raw('(extract(epoch from cast(?? as timestamptz)) * 1000)::bigint as ??', ['expire', 'ms']))
            .where('sid', sid)
            .first()) as { ms?: unknown } | undefined;
          return row ? Number(row.ms) : undefined;
        },
        rowSids: async () => ((await shared.knex.withSchema(schemaName).table('session').pluck('sid')) as string[]).sort(),
        async expectPeerTable() {
          const [{ TimeZone: ours } = { TimeZone: '' }] = (await shared.knex.raw('show timezone')).rows as Array<{
            TimeZone: string;
          }>;
          expect(ours).toBe(zone);
          expect(await shared.peerZone()).toBe(zone);
          const types = (await shared.knex('information_schema.columns')
            .select('column_name', 'data_type')
            .where({ table_schema: schemaName, table_name: 'session' })
            .orderBy('column_name')) as Array<{ column_name: string; data_type: string }>;
          expect(types).toEqual([
            { column_name: 'expire', data_type: 'timestamp without time zone' },
            { column_name: 'sess', data_type: 'json' },
            { column_name: 'sid', data_type: 'character varying' },
          ]);
        },
        async close() {
          await peer.close();
          await shared.knex.schema.dropSchemaIfExists(schemaName, true);
          await shared.close();
        },
      };
    },
  });
}

describe('adopting a connect-pg-simple table', () => {
  for (const zone of ZONES) {
    describeAdoptionIn('PGlite (knex-pglite)', () => pgliteShared(zone), zone);
  }
});

describeLive('CSK_PG_URL', 'PostgreSQL server: adopting a connect-pg-simple table', (url) => {
  for (const zone of ZONES) {
    describeAdoptionIn('PostgreSQL (pg)', () => serverShared(url, zone), zone);
  }
});
