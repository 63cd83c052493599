import { knex, type Knex } from 'knex';
import {
  describeStoreConformance,
  liveSession,
  SECOND,
  SECONDARY_FUZZ_RUNS,
  uniqueTableName,
  waitFor,
} from '@csk/conformance';
import { describeLive } from '@csk/conformance/scenarios/live';
import type { PruneEvent } from '@csk/core';
import { MysqlAdapter, type MysqlStore } from '@csk/mysql';
import { CLIENTS, createStore, packageDir, serverConfig, storeModule, type MysqlClient } from './targets';

/** Sessions written at once from three nodes: every one a conflict with the same sid's writes on the other two. */
const CONFLICTING_WRITES = 3_000;
const HOT_SIDS = 20;
/** Writes in flight at a time, over the three stores. */
const IN_FLIGHT = 60;
/** Write-on-one-node, read-on-the-next pairs per driver. */
const READ_AFTER_WRITE_PAIRS = 300;

// A three-node MariaDB Galera cluster (scripts/galera.sh, which CI starts): CSK_GALERA_URLS holds the nodes' URLs,
// comma-separated. Every node accepts writes; a write commits on all of them or, when it lost a certification
// conflict to another node's write of the same row, on none.
describeLive('CSK_GALERA_URLS', 'MariaDB Galera cluster (3 nodes)', (value) => {
  const urls = value.split(',').map((url) => url.trim());
  if (urls.length !== 3) throw new Error(`CSK_GALERA_URLS must name the 3 nodes, got ${urls.length}`);

  // One node is a MariaDB server to the store: the whole suite holds there (DDL is replicated in total order).
  describeStoreConformance({
    name: 'MariaDB Galera node (mysql2)',
    fuzzRuns: SECONDARY_FUZZ_RUNS,
    createKnex: () => knex(serverConfig(urls[0]!)),
    createStore,
    isolated: { packageDir, storeModule, storeExport: 'MysqlStore', knexConfig: serverConfig(urls[0]!) },
  });

  describe('stores on three nodes', () => {
    let knexes: Knex[] = [];
    let stores: MysqlStore[] = [];

    /** A store on each node, on one new table, with the given driver. */
    async function openStores(client: MysqlClient = 'mysql2', options: { cleanupInterval?: number } = {}) {
      const tableName = uniqueTableName('galera');
      const opened = urls.map((url) => {
        const db = knex(serverConfig(url, client));
        knexes.push(db);
        const store = createStore({ knex: db, tableName, cleanupInterval: 0, ...options });
        stores.push(store);
        return store;
      });
      // One after another: the first creates the table, the others find it (DDL is replicated before it returns).
      for (const store of opened) await store.ready;
      return { tableName, stores: opened };
    }

    const tables: string[] = [];

    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close().catch(() => undefined);
      const [first] = knexes;
      for (const table of tables.splice(0)) await first?.schema.dropTableIfExists(table).catch(() => undefined);
      for (const db of knexes.splice(0)) await db.destroy();
    });

    it(`writes ${CONFLICTING_WRITES} conflicting sessions from three nodes without one error`, async () => {
      const { tableName, stores: [a, b, c] } = await openStores();
      tables.push(tableName);
      const nodes = [a!, b!, c!];
      const failures: unknown[] = [];
      const written = new Set<string>();
      for (let start = 0; start < CONFLICTING_WRITES; start += IN_FLIGHT) {
        const round: Array<Promise<void>> = [];
        for (let i = start; i < Math.min(start + IN_FLIGHT, CONFLICTING_WRITES); i++) {
          const sid = `hot${i % HOT_SIDS}`;
          written.add(sid);
          round.push(nodes[i % 3]!.set(sid, liveSession({ n: i })).catch((error: unknown) => void failures.push(error)));
        }
        await Promise.all(round);
      }
      expect(failures).toEqual([]);
      // Every node holds one row per sid, the same one on each (the write of the three racing last that won), once it
      // has applied the others' writes: allById() is no read the store makes wait for that.
      const held = async (store: MysqlStore) =>
        Object.entries((await store.allById()) ?? {})
          .map(([sid, session]) => `${sid}:${(session as { n?: unknown }).n}`)
          .sort();
      let rows: string[][] = [];
      await waitFor('the nodes to agree', async () => {
        rows = await Promise.all(nodes.map(held));
        return rows.every((row) => JSON.stringify(row) === JSON.stringify(rows[0]));
      });
      expect(rows[0]!.map((row) => row.split(':')[0]).sort()).toEqual([...written].sort());
    }, 180 * SECOND);

    it.each(CLIENTS.filter((client) => client !== 'mariadb'))(
      'reads through one node what was just written through another (%s, fast path)',
      async (client) => {
        const { tableName, stores: nodes } = await openStores(client);
        tables.push(tableName);
        let stale = 0;
        for (let i = 0; i < READ_AFTER_WRITE_PAIRS; i++) {
          const sid = `rw${i % 25}`;
          await nodes[i % 3]!.set(sid, liveSession({ n: i }));
          const read = await nodes[(i + 1) % 3]!.get(sid);
          if ((read as { n?: unknown } | null)?.n !== i) stale += 1;
        }
        expect(stale).toBe(0);
      },
      120 * SECOND,
    );

    it('prunes from three nodes at once: every expired row goes, no prune fails', async () => {
      const { tableName, stores: nodes } = await openStores();
      tables.push(tableName);
      const adapter = new MysqlAdapter();
      const expired = adapter.encodeExpiry(Date.now() - SECOND);
      const db = knexes[0]!;
      const rows = Array.from({ length: 3_000 }, (_, i) => ({ sid: `old${i}`, sess: '{}', expired }));
      await db.batchInsert(tableName, rows, 500);
      await nodes[0]!.set('live', liveSession());
      const events: PruneEvent[] = [];
      for (const store of nodes) store.on('prune', (event: PruneEvent) => events.push(event));
      let deleted = 0;
      for (let round = 0; round < 3; round++) {
        const counts = await Promise.all(nodes.map((store) => store.prune()));
        deleted += counts.reduce<number>((sum, count) => sum + (count ?? 0), 0);
      }
      expect(deleted).toBe(3_000);
      await waitFor('every prune event', () => events.length === 9);
      expect(await nodes[2]!.ids()).toEqual(['live']);
    }, 120 * SECOND);

    it("reports a node cut off from the cluster (1047) as 'disconnect', and 'connect' once it is back", async () => {
      const { tableName, stores: nodes } = await openStores();
      tables.push(tableName);
      const store = nodes[2]!;
      const admin = knexes[2]!;
      const events: string[] = [];
      store.on('disconnect', () => events.push('disconnect'));
      store.on('connect', () => events.push('connect'));
      await store.set('before', liveSession());
      // gmcast.isolate cuts the node's group communication: the others evict it, and it leaves the primary component.
      await admin.raw("set global wsrep_provider_options = 'gmcast.isolate=1'");
      try {
        await waitFor(
          'the node to leave the primary component',
          async () => {
            await store.get('before').catch(() => undefined);
            return events.includes('disconnect');
          },
          60 * SECOND,
        );
        // 1047 on the knex path; on the fast path a read that waits for the cluster, which the node cannot do.
        await expect(store.get('before')).rejects.toMatchObject({ name: 'DatabaseError' });
      } finally {
        await admin.raw("set global wsrep_provider_options = 'gmcast.isolate=0'");
      }
      await waitFor('the node to rejoin', () => events.includes('connect'), 90 * SECOND);
      expect(events).toEqual(['disconnect', 'connect']);
      await waitFor('the node to serve again', async () => (await store.get('before').catch(() => null)) !== null, 60 * SECOND);
    }, 240 * SECOND);
  });
});
