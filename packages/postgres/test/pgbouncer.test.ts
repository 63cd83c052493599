import { knex, type Knex } from 'knex';
import { describeLive } from '@csk/conformance/scenarios/live';
import type { PruneEvent } from '@csk/core';
import { PostgresStore, pruneLockKey } from '@csk/postgres';
import { serverConfig } from './targets';

const HOUR = 3_600_000;
const session = (n: number) => ({ cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR) }, n }) as never;

/** Advisory locks on the prune key of `tableName`, held by any backend of the server. */
async function pruneLocksHeld(db: Knex, tableName: string): Promise<number> {
  const key = BigInt.asUintN(64, BigInt(pruneLockKey({ schemaName: undefined, tableName } as never)));
  // A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits), with objsubid 1.
  const rows: Array<{ n?: unknown }> = await db('pg_locks')
    .count({ n: '*' })
    .where({ locktype: 'advisory', classid: Number(key >> 32n), objid: Number(BigInt.asUintN(32, key)), objsubid: 1 });
  return Number(rows[0]?.n);
}

// PgBouncer in transaction mode (scripts/pgbouncer.sh) gives each transaction, or each statement outside one, whichever
// server connection is free: the tests below hold only if the store keeps no state in a server session.
describeLive('CSK_PGBOUNCER_URL', 'PostgreSQL through PgBouncer (transaction mode)', (url) => {
  const tableName = `csk_bouncer_${process.pid}`;
  let db: Knex;
  const knexes: Knex[] = [];
  const open = (options: { pool?: number; tableName?: string } = {}): PostgresStore => {
    const own = knex({ ...serverConfig(url), pool: { min: 0, max: options.pool ?? 2 } });
    knexes.push(own);
    return new PostgresStore({ knex: own, tableName: options.tableName ?? tableName, cleanupInterval: 0 });
  };

  beforeAll(() => {
    db = knex(serverConfig(url));
  });

  afterAll(async () => {
    await Promise.all(knexes.splice(0).map((k) => k.destroy()));
    await db.schema.dropTableIfExists(tableName);
    await db.schema.dropTableIfExists(`${tableName}_fast`);
    await db.destroy();
  });

  it('stores pruning together, round after round, delete every expired row and leave no lock after close()', async () => {
    const stores = Array.from({ length: 4 }, () => open());
    await Promise.all(stores.map((store) => store.ready));
    await stores[0]!.set('live', session(0));
    const reports: PruneEvent[] = [];
    for (const store of stores) store.on('prune', (report: PruneEvent) => reports.push(report));
    const expired = new Date(Date.now() - HOUR).toISOString();
    let inserted = 0;
    let deleted = 0;
    for (let round = 0; round < 25; round += 1) {
      const count = round === 24 ? 2_300 : 50;
      const rows = Array.from({ length: count }, (_, i) => ({ sid: `r${round}-${i}`, sess: '{}', expired }));
      await db.batchInsert(tableName, rows, 500);
      inserted += count;
      const counts = await Promise.all(stores.map((store) => store.prune()));
      deleted += counts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
      expect({ round, left: await db(tableName).pluck('sid') }).toEqual({ round, left: ['live'] });
    }
    expect(deleted).toBe(inserted);
    await Promise.all(stores.map((store) => store.close()));
    await Promise.all(knexes.splice(0).map((k) => k.destroy()));
    // PgBouncer keeps its server connections open: a session-level lock left on one of them would still show here.
    expect(await pruneLocksHeld(db, tableName)).toBe(0);
    const pruned = reports.filter((report) => !report.skipped).length;
    process.stdout.write(
      `[pgbouncer] 4 stores, 25 rounds: ${deleted} of ${inserted} expired rows deleted, ` +
        `${pruned} prunes ran and ${reports.length - pruned} were skipped, 0 prune locks held after close()\n`,
    );
  });

  it("the fast path's prepared statements fall back to unnamed ones: every read sees the latest write", async () => {
    // Several connections, each statement on whichever server connection PgBouncer gives it: a named statement parsed
    // on one is missing on the next (PgBouncer 1.18 does not carry prepared statements across server connections).
    const stores = [open({ pool: 4, tableName: `${tableName}_fast` }), open({ pool: 4, tableName: `${tableName}_fast` })];
    await Promise.all(stores.map((store) => store.ready));
    for (let round = 0; round < 20; round += 1) {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => stores[i % 2]!.set(`fast-${i}`, session(round * 10 + i))),
      );
      const read = await Promise.all(Array.from({ length: 8 }, (_, i) => stores[(i + 1) % 2]!.get(`fast-${i}`)));
      expect(read.map((s) => (s as { n?: number } | null)?.n)).toEqual(
        Array.from({ length: 8 }, (_, i) => round * 10 + i),
      );
      await Promise.all(Array.from({ length: 8 }, (_, i) => stores[i % 2]!.touch(`fast-${i}`, session(0))));
    }
    await Promise.all(Array.from({ length: 8 }, (_, i) => stores[0]!.destroy(`fast-${i}`)));
    expect(await stores[1]!.length()).toBe(0);
    await Promise.all(stores.map((store) => store.close()));
  });
});
