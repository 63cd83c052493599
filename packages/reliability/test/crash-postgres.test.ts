import { afterAll, beforeAll, describe, expect, it, test } from '@jest/globals';
import { knex as createKnex, type Knex } from 'knex';
import { inCi } from '@csk/conformance/scenarios/live';
import { expectSound, printResults } from './support/fault-suite.js';
import { clusterUnavailable, PrivateCluster } from './support/private-cluster.js';
import { ACQUIRE_TIMEOUT_MS, runScenario, type ScenarioResult } from './support/scenario.js';

const TITLE = 'PostgreSQL 15, a private cluster killed with SIGKILL';
const results: ScenarioResult[] = [];
const unavailable = clusterUnavailable();

if (unavailable && !inCi()) {
  process.stderr.write(`[csk] skipped the ${TITLE} suite: ${unavailable}\n`);
  test.skip(`${TITLE}: ${unavailable}`, () => undefined);
} else {
  describe(TITLE, () => {
    let cluster: PrivateCluster | undefined;
    let db: Knex | undefined;

    beforeAll(async () => {
      // In CI a machine that cannot run the cluster fails here rather than skip.
      if (unavailable) throw new Error(`${TITLE} cannot run: ${unavailable}`);
      cluster = await PrivateCluster.create();
      db = createKnex({ client: 'pg', connection: cluster.connection, pool: { min: 0, max: 2 } });
    }, 120_000);

    afterAll(async () => {
      await db?.destroy();
      // Always: a cluster left running would hold its port and folder.
      await cluster?.destroy();
      printResults(TITLE, results);
    }, 60_000);

    it('every acknowledged session survives the crash, no request hangs, and service returns on restart', async () => {
      const result = await runScenario({
        engine: 'PostgreSQL 15 (private)',
        fault: 'kill -9 of every server process, restart after 2 s',
        db: db!,
        app: {
          client: 'pg',
          connection: cluster!.connection,
          tableName: 'sessions',
          acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
          operationTimeout: 0,
          poolMax: 4,
        },
        breakDatabase: () => cluster!.crash(),
        // pg_ctl -w resolves once the server accepts connections again, crash recovery done.
        restoreDatabase: () => cluster!.start(),
        outageMs: 2_000,
      });
      results.push(result);
      try {
        expectSound(result, { events: ['disconnect', 'connect'] });
      } catch (error) {
        process.stderr.write(`server log:\n${cluster!.log()}\n`);
        throw error;
      }
      expect(result.ackedBeforeFault).toBeGreaterThan(0);
      // The restart was a crash recovery, not a clean start.
      expect(cluster!.log()).toMatch(/database system was interrupted|not properly shut down|redo starts/);
    }, 120_000);
  });
}
