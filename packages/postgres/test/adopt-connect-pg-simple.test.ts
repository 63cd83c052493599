import { PGlite } from '@electric-sql/pglite';
import connectPgSimple, { type PGStore, type PGStoreOptions } from 'connect-pg-simple';
import session, { type SessionData } from 'express-session';
import { knex as createKnex, type Knex } from 'knex';
import ClientPGlite from 'knex-pglite';
import pg from 'pg';
import { describeLive } from '@csk/conformance/scenarios/live';
import { PostgresStore } from '@csk/postgres';

// Adopting connect-pg-simple's table in place: the published connect-pg-simple creates its table (table.sql: sid
// varchar, sess json, expire timestamp(6) WITHOUT time zone) and writes first; PostgresStore then works on the same
// rows, and connect-pg-simple still reads what PostgresStore wrote, so that the two can run side by side during a
// rolling migration. connect-pg-simple writes `to_timestamp(seconds)` into a column without a time zone, which keeps
// the wall-clock time of the session's TimeZone: every check runs under UTC and under zones ahead of and behind it.

const PeerStore = connectPgSimple(session);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Ahead of UTC by 13:45 (a quarter-hour offset), behind it by 3:30 or 2:30: a wrong conversion shows either way. */
const ZONES = ['UTC', 'Pacific/Chatham', 'America/St_Johns'] as const;
const suffix = Math.random().toString(16).slice(2, 10);

/** A session as express-session hands it to a store, expiring at `expiresMs`. */
const sessionUntil = (expiresMs: number, data: Record<string, unknown> = {}): SessionData =>
  ({
    cookie: { originalMaxAge: expiresMs - Date.now(), expires: new Date(expiresMs), httpOnly: true, path: '/' },
    ...data,
  }) as unknown as SessionData;
const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

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

function describeAdoption(name: string, open: () => Promise<Shared>, zone: string): void {
  describe(`${name}, session TimeZone ${zone}`, () => {
    const schemaName = `csk_adopt_${suffix}_${zone.replace(/\W/g, '_').toLowerCase()}`;
    let shared: Shared;
    let peer: PGStore;
    let store: PostgresStore;
    const at: Record<string, number> = {};
    const written: Record<string, SessionData> = {};

    /** The instant a row's expire holds, read as connect-pg-simple means it: wall-clock time of the session's zone. */
    const storedExpiry = async (sid: string): Promise<number | undefined> => {
      const row = (await shared.knex
        .withSchema(schemaName)
        .table('session')
        .select(shared.knex.raw('(extract(epoch from cast(?? as timestamptz)) * 1000)::bigint as ??', ['expire', 'ms']))
        .where('sid', sid)
        .first()) as { ms?: unknown } | undefined;
      return row ? Number(row.ms) : undefined;
    };
    const rowSids = async (): Promise<string[]> =>
      ((await shared.knex.withSchema(schemaName).table('session').pluck('sid')) as string[]).sort();
    const peerGet = (sid: string) => peerCall((done) => peer.get(sid, done));
    const peerSet = (sid: string, sess: SessionData) => peerCall((done) => peer.set(sid, sess, done));

    beforeAll(async () => {
      shared = await open();
      await shared.knex.schema.createSchema(schemaName);
      peer = new PeerStore({
        ...shared.peer,
        schemaName,
        tableName: 'session',
        createTableIfMissing: true,
        pruneSessionInterval: false,
      });
      const now = Date.now();
      Object.assign(at, { ada: now + HOUR, bob: now + 2 * HOUR, old: now - HOUR });
      written.ada = sessionUntil(at.ada!, { user: 'ada', note: 'ünïcödé ✓' });
      await peerSet('peer-ada', written.ada);
      await peerSet('peer-bob', sessionUntil(at.bob!, { user: 'bob' }));
      await peerSet('peer-old', sessionUntil(at.old!, { user: 'old' }));
      store = new PostgresStore({
        knex: shared.knex,
        schemaName,
        tableName: 'session',
        sidFieldName: 'sid',
        sessFieldName: 'sess',
        expiredFieldName: 'expire',
        createTable: false,
        cleanupInterval: 0,
      });
      await store.ready;
    });

    afterAll(async () => {
      await store?.close();
      await peer?.close();
      await shared?.knex.schema.dropSchemaIfExists(schemaName, true);
      await shared?.close();
    });

    it(`both connections run under ${zone}, and the table is connect-pg-simple's own`, async () => {
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
      // connect-pg-simple rounds its expiry up to the second, in the session's zone.
      expect(await storedExpiry('peer-ada')).toBe(Math.ceil(at.ada! / 1000) * 1000);
    });

    it('reads what connect-pg-simple wrote: the live sessions, and the expired one as missing', async () => {
      await expect(store.get('peer-ada')).resolves.toEqual(roundTrip(written.ada));
      await expect(store.get('peer-bob')).resolves.toMatchObject({ user: 'bob' });
      await expect(store.get('peer-old')).resolves.toBeNull();
      await expect(store.length()).resolves.toBe(2);
      expect((await store.ids())?.sort()).toEqual(['peer-ada', 'peer-bob']);
      expect(Object.keys((await store.all()) ?? {}).sort()).toEqual(['peer-ada', 'peer-bob']);
    });

    it('connect-pg-simple reads what the store wrote, with the expiry instant it means', async () => {
      const expires = Date.now() + 30 * MINUTE + 123;
      const written = sessionUntil(expires, { user: 'cyd', cart: [1, 2] });
      await store.set('ours-cyd', written);
      expect(await storedExpiry('ours-cyd')).toBe(expires);
      await expect(peerGet('ours-cyd')).resolves.toEqual(roundTrip(written));
      await expect(store.get('ours-cyd')).resolves.toEqual(roundTrip(written));
    });

    it("each store's touch extends a session the other wrote, and each sees it live", async () => {
      const later = Date.now() + 3 * HOUR + 456;
      await store.touch('peer-ada', sessionUntil(later, { user: 'ada' }));
      expect(await storedExpiry('peer-ada')).toBe(later);
      await expect(peerGet('peer-ada')).resolves.toMatchObject({ user: 'ada' });

      const peerLater = Date.now() + 4 * HOUR;
      await peerCall((done) => peer.touch('ours-cyd', sessionUntil(peerLater, { user: 'cyd' }), done));
      expect(await storedExpiry('ours-cyd')).toBe(Math.ceil(peerLater / 1000) * 1000);
      await expect(store.get('ours-cyd')).resolves.toMatchObject({ user: 'cyd' });
    });

    it('the store never revives the session connect-pg-simple wrote expired', async () => {
      const before = await storedExpiry('peer-old');
      await store.touch('peer-old', sessionUntil(Date.now() + HOUR, { user: 'old' }));
      expect(await storedExpiry('peer-old')).toBe(before);
      await expect(store.get('peer-old')).resolves.toBeNull();
      await expect(peerGet('peer-old')).resolves.toBeUndefined();
    });

    it("each store's destroy removes a session the other wrote", async () => {
      await expect(store.destroy('peer-bob')).resolves.toBe(1);
      await expect(peerGet('peer-bob')).resolves.toBeUndefined();
      await store.set('ours-dan', sessionUntil(Date.now() + HOUR, { user: 'dan' }));
      await peerCall((done) => peer.destroy('ours-dan', done));
      await expect(store.get('ours-dan')).resolves.toBeNull();
    });

    it("prune deletes only the expired rows, and connect-pg-simple's prune keeps the store's live ones", async () => {
      await peerSet('peer-old-2', sessionUntil(Date.now() - 10 * MINUTE, { user: 'old-2' }));
      await peerSet('peer-soon', sessionUntil(Date.now() + 10 * MINUTE, { user: 'soon' }));
      await store.set('ours-soon', sessionUntil(Date.now() + 10 * MINUTE, { user: 'ours-soon' }));
      const live = ['ours-cyd', 'ours-soon', 'peer-ada', 'peer-soon'];
      expect(await rowSids()).toEqual([...live, 'peer-old', 'peer-old-2'].sort());

      await expect(store.prune()).resolves.toBe(2);
      expect(await rowSids()).toEqual(live);
      await peerCall((done) => peer.pruneSessions(done));
      expect(await rowSids()).toEqual(live);
      await expect(store.length()).resolves.toBe(live.length);
      for (const sid of live) await expect(peerGet(sid)).resolves.toBeDefined();
    });
  });
}

describe('adopting a connect-pg-simple table', () => {
  for (const zone of ZONES) {
    describeAdoption('PGlite (knex-pglite)', () => pgliteShared(zone), zone);
  }
});

describeLive('CSK_PG_URL', 'PostgreSQL server: adopting a connect-pg-simple table', (url) => {
  for (const zone of ZONES) {
    describeAdoption('PostgreSQL (pg)', () => serverShared(url, zone), zone);
  }
});
