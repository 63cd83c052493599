import expressMysqlSession, { type MySQLStore } from 'express-mysql-session';
import session, { type SessionData } from 'express-session';
import { knex as createKnex, type Knex } from 'knex';
import { describeLive, mysqlConnection } from '@csk/conformance/scenarios/live';
import { MysqlStore } from '@csk/mysql';
import { CLIENTS, serverConfig } from './targets';

// Adopting express-mysql-session's table in place: the published express-mysql-session creates its table
// (schema.sql: session_id varchar(128) utf8mb4_bin, expires int unsigned holding epoch seconds, data mediumtext) and
// writes first; MysqlStore then works on the same rows, and express-mysql-session still reads what MysqlStore wrote,
// so that the two can run side by side during a rolling migration. Every knex MySQL client is checked.

const PeerStore = expressMysqlSession(session);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const suffix = Math.random().toString(16).slice(2, 10);

/** A session as express-session hands it to a store, expiring at `expiresMs`. */
const sessionUntil = (expiresMs: number, data: Record<string, unknown> = {}): SessionData =>
  ({
    cookie: { originalMaxAge: expiresMs - Date.now(), expires: new Date(expiresMs), httpOnly: true, path: '/' },
    ...data,
  }) as unknown as SessionData;
const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server: adopting an express-mysql-session table', (url) => {
  describe.each(CLIENTS)('MySQL/MariaDB (%s)', (client) => {
    const tableName = `sessions_adopt_${client}_${suffix}`;
    let knex: Knex;
    let peer: MySQLStore;
    let store: MysqlStore;
    const at: Record<string, number> = {};
    const written: Record<string, SessionData> = {};

    /** The epoch seconds a row's expires holds. */
    const storedExpiry = async (sid: string): Promise<number | undefined> => {
      const row = (await knex.table(tableName).select('expires').where('session_id', sid).first()) as
        | { expires?: unknown }
        | undefined;
      return row ? Number(row.expires) : undefined;
    };
    const rowSids = async (): Promise<string[]> => ((await knex.table(tableName).pluck('session_id')) as string[]).sort();

    beforeAll(async () => {
      knex = createKnex(serverConfig(url, client));
      const { host, port, user, password, database } = mysqlConnection(url);
      peer = new PeerStore({
        host,
        port,
        user,
        password,
        database,
        createDatabaseTable: true,
        clearExpired: false,
        schema: { tableName },
      });
      await peer.onReady();
      const now = Date.now();
      Object.assign(at, { ada: now + HOUR, bob: now + 2 * HOUR, old: now - HOUR });
      written.ada = sessionUntil(at.ada!, { user: 'ada', note: 'ünïcödé ✓ 😀' });
      await peer.set('peer-ada', written.ada);
      await peer.set('peer-bob', sessionUntil(at.bob!, { user: 'bob' }));
      await peer.set('peer-old', sessionUntil(at.old!, { user: 'old' }));
      store = new MysqlStore({
        knex,
        tableName,
        sidFieldName: 'session_id',
        sessFieldName: 'data',
        expiredFieldName: 'expires',
        expiryEncoding: 'epoch-seconds',
        createTable: false,
        cleanupInterval: 0,
      });
      await store.ready;
    });

    afterAll(async () => {
      await store?.close();
      await peer?.close();
      await knex?.schema.dropTableIfExists(tableName);
      await knex?.destroy();
    });

    it("the table is express-mysql-session's own, its expiry in epoch seconds", async () => {
      const columns = await knex.table(tableName).columnInfo();
      expect(Object.keys(columns).sort()).toEqual(['data', 'expires', 'session_id']);
      expect(columns.expires?.type).toBe('int');
      expect(columns.data?.type).toBe('mediumtext');
      // express-mysql-session rounds its expiry to the nearest second.
      expect(await storedExpiry('peer-ada')).toBe(Math.round(at.ada! / 1000));
    });

    it('reads what express-mysql-session wrote: the live sessions, and the expired one as missing', async () => {
      await expect(store.get('peer-ada')).resolves.toEqual(roundTrip(written.ada));
      await expect(store.get('peer-bob')).resolves.toMatchObject({ user: 'bob' });
      await expect(store.get('peer-old')).resolves.toBeNull();
      await expect(store.length()).resolves.toBe(2);
      expect((await store.ids())?.sort()).toEqual(['peer-ada', 'peer-bob']);
      expect(Object.keys((await store.all()) ?? {}).sort()).toEqual(['peer-ada', 'peer-bob']);
    });

    it('express-mysql-session reads what the store wrote, with the expiry in seconds', async () => {
      const expires = Date.now() + 30 * MINUTE + 123;
      const mine = sessionUntil(expires, { user: 'cyd', cart: [1, 2] });
      await store.set('ours-cyd', mine);
      expect(Math.abs(Number(await storedExpiry('ours-cyd')) - expires / 1000)).toBeLessThan(1);
      await expect(peer.get('ours-cyd')).resolves.toEqual(roundTrip(mine));
      await expect(store.get('ours-cyd')).resolves.toEqual(roundTrip(mine));
      expect(Object.keys(await peer.all()).sort()).toEqual(['ours-cyd', 'peer-ada', 'peer-bob']);
      await expect(peer.length()).resolves.toBe(3);
    });

    it("each store's touch extends a session the other wrote, and each sees it live", async () => {
      const later = Date.now() + 3 * HOUR + 456;
      await store.touch('peer-ada', sessionUntil(later, { user: 'ada' }));
      expect(Math.abs(Number(await storedExpiry('peer-ada')) - later / 1000)).toBeLessThan(1);
      await expect(peer.get('peer-ada')).resolves.toMatchObject({ user: 'ada' });

      const peerLater = Date.now() + 4 * HOUR;
      await peer.touch('ours-cyd', sessionUntil(peerLater, { user: 'cyd' }));
      expect(await storedExpiry('ours-cyd')).toBe(Math.round(peerLater / 1000));
      await expect(store.get('ours-cyd')).resolves.toMatchObject({ user: 'cyd' });
    });

    it('the store never revives the session express-mysql-session wrote expired', async () => {
      const before = await storedExpiry('peer-old');
      await store.touch('peer-old', sessionUntil(Date.now() + HOUR, { user: 'old' }));
      expect(await storedExpiry('peer-old')).toBe(before);
      await expect(store.get('peer-old')).resolves.toBeNull();
      await expect(peer.get('peer-old')).resolves.toBeNull();
    });

    it("each store's destroy removes a session the other wrote", async () => {
      await expect(store.destroy('peer-bob')).resolves.toBe(1);
      await expect(peer.get('peer-bob')).resolves.toBeNull();
      await store.set('ours-dan', sessionUntil(Date.now() + HOUR, { user: 'dan' }));
      await peer.destroy('ours-dan');
      await expect(store.get('ours-dan')).resolves.toBeNull();
    });

    it("prune deletes only the expired rows, and express-mysql-session's sweep keeps the store's live ones", async () => {
      await peer.set('peer-old-2', sessionUntil(Date.now() - 10 * MINUTE, { user: 'old-2' }));
      await peer.set('peer-soon', sessionUntil(Date.now() + 10 * MINUTE, { user: 'soon' }));
      await store.set('ours-soon', sessionUntil(Date.now() + 10 * MINUTE, { user: 'ours-soon' }));
      const live = ['ours-cyd', 'ours-soon', 'peer-ada', 'peer-soon'];
      expect(await rowSids()).toEqual([...live, 'peer-old', 'peer-old-2'].sort());

      await expect(store.prune()).resolves.toBe(2);
      expect(await rowSids()).toEqual(live);
      await peer.clearExpiredSessions();
      expect(await rowSids()).toEqual(live);
      await expect(store.length()).resolves.toBe(live.length);
      for (const sid of live) await expect(peer.get(sid)).resolves.not.toBeNull();
    });
  });
});
