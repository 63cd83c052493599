import expressMysqlSession from 'express-mysql-session';
import session from 'express-session';
import { knex as createKnex } from 'knex';
import { describeAdoption } from '@csk/conformance/scenarios/adopt';
import { describeLive, mysqlConnection } from '@csk/conformance/scenarios/live';
import { MysqlStore } from '@csk/mysql';
import { CLIENTS, serverConfig } from './targets';

// Adopting express-mysql-session's table in place: the published express-mysql-session creates its table
// (schema.sql: session_id varchar(128) utf8mb4_bin, expires int unsigned holding epoch seconds, data mediumtext) and
// writes first; MysqlStore then works on the same rows, and express-mysql-session still reads what MysqlStore wrote,
// so that the two can run side by side during a rolling migration. Every knex MySQL client is checked.

const PeerStore = expressMysqlSession(session);
const suffix = Math.random().toString(16).slice(2, 10);

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server: adopting an express-mysql-session table', (url) => {
  for (const client of CLIENTS) {
    const tableName = `sessions_adopt_${client}_${suffix}`;
    describeAdoption({
      name: `MySQL/MariaDB (${client})`,
      peerName: 'express-mysql-session',
      tableTitle: "the table is express-mysql-session's own, its expiry in epoch seconds",
      createStore: (options) => new MysqlStore(options),
      missing: null,
      // express-mysql-session rounds its expiry to the nearest second.
      peerExpiry: (ms) => Math.round(ms / 1000) * 1000,
      // The store writes epoch seconds: within the second of the session's expiry.
      expectStoreExpiry: (stored, ms) => expect(Math.abs(Number(stored) - ms)).toBeLessThan(1000),
      async setup() {
        const knex = createKnex(serverConfig(url, client));
        const { host, port, user, password, database } = mysqlConnection(url);
        const peer = new PeerStore({
          host,
          port,
          user,
          password,
          database,
          createDatabaseTable: true,
          clearExpired: false,
          schema: { tableName },
        });
        try {
          await peer.onReady();
        } catch (error) {
          // No adoption to close yet: release what there is.
          await peer.close();
          await knex.destroy();
          throw error;
        }
        return {
          peer: {
            get: (sid) => peer.get(sid),
            set: (sid, sess) => peer.set(sid, sess),
            touch: (sid, sess) => peer.touch(sid, sess),
            destroy: (sid) => peer.destroy(sid),
            prune: () => peer.clearExpiredSessions(),
            ids: async () => Object.keys(await peer.all()),
            length: () => peer.length(),
            close: () => peer.close(),
          },
          storeOptions: {
            knex,
            tableName,
            sidFieldName: 'session_id',
            sessFieldName: 'data',
            expiredFieldName: 'expires',
            expiryEncoding: 'epoch-seconds',
          },
          async storedExpiry(sid) {
            const row = (await knex.table(tableName).select('expires').where('session_id', sid).first()) as
              | { expires?: unknown }
              | undefined;
            return row ? Number(row.expires) * 1000 : undefined;
          },
          rowSids: async () => ((await knex.table(tableName).pluck('session_id')) as string[]).sort(),
          async expectPeerTable() {
            const columns = await knex.table(tableName).columnInfo();
            expect(Object.keys(columns).sort()).toEqual(['data', 'expires', 'session_id']);
            expect(columns.expires?.type).toBe('int');
            expect(columns.data?.type).toBe('mediumtext');
          },
          async close() {
            await peer.close();
            await knex.schema.dropTableIfExists(tableName);
            await knex.destroy();
          },
        };
      },
    });
  }
});
