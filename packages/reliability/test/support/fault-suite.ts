import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { describeLive } from '@csk/conformance/scenarios/live';
import { directKnex, uniqueTable, type Engine } from './engines.js';
import { FaultProxy } from './fault-proxy.js';
import type { AppConfig } from './protocol.js';
import {
  ACQUIRE_TIMEOUT_MS,
  DEADLINE_MS,
  OPERATION_TIMEOUT_MS,
  RECOVERY_LIMIT_MS,
  STORE_CALL_LIMIT_MS,
  formatResults,
  runScenario,
  type ScenarioResult,
} from './scenario.js';

/** A scenario runs for about ten seconds; this bounds it (and its cleanup) generously. */
const SCENARIO_TIMEOUT_MS = 60_000;

/** What every scenario must show, whatever the fault. */
export function expectSound(result: ScenarioResult, { events }: { events: string[] }): void {
  // Zero crashes: the process is alive, and it saw no uncaught exception and no unhandled rejection.
  expect(result.alive).toBe(true);
  expect(result.report.uncaughtExceptions).toEqual([]);
  expect(result.report.unhandledRejections).toEqual([]);
  // Every request answered in time: no hang, no broken HTTP exchange, and no status outside 200/5xx.
  expect(result.load.hung).toBe(0);
  expect(result.load.networkErrors).toEqual([]);
  expect(result.report.storeCalls).toBeGreaterThan(0);
  expect(result.report.slowestStoreCallMs).toBeLessThanOrEqual(STORE_CALL_LIMIT_MS);
  expect(result.load.maxMs).toBeLessThanOrEqual(DEADLINE_MS);
  for (const status of Object.keys(result.load.byStatus)) expect(status).toMatch(/^(200|500|503)$/);
  expect(result.load.byStatus['200']).toBeGreaterThan(0);
  // Nothing acknowledged was lost, during the run or in the table afterwards.
  expect(result.load.lostSessions).toBe(0);
  expect(result.load.lostWrites).toBe(0);
  expect(result.lostAcknowledged).toEqual([]);
  // Service back within the limit of the database's return.
  expect(result.recoveryMs).toBeDefined();
  expect(result.recoveryMs!).toBeLessThanOrEqual(RECOVERY_LIMIT_MS);
  // Availability events as the fault warrants them: one 'disconnect' and one 'connect' per outage, never one per failure.
  expect(result.report.events.map((event) => event.name)).toEqual(events);
  // The application closes cleanly and exits by itself.
  expect(result.exit).toEqual({ code: 0, signal: null });
}

/**
 * The fault scenarios of one engine: the application talks to the server through a {@link FaultProxy} that refuses,
 * cuts, stalls and delays its connections.
 */
export function faultSuite(engine: Engine, results: ScenarioResult[]): void {
  describeLive(engine.variable, `${engine.name} under faults`, (url) => {
    let proxy: FaultProxy;
    let db: Knex;
    const tables: string[] = [];

    beforeAll(async () => {
      proxy = await FaultProxy.start(engine.target(url));
      db = directKnex(engine, url);
    });

    afterAll(async () => {
      for (const table of tables) await db?.schema.dropTableIfExists(table);
      await db?.destroy();
      await proxy?.close();
    });

    /** The application's configuration: its knex goes through the proxy. */
    function appConfig(label: string, operationTimeout: number): AppConfig {
      const tableName = uniqueTable(label);
      tables.push(tableName);
      return {
        client: engine.client,
        connection: engine.connection(url, proxy.port),
        tableName,
        acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
        operationTimeout,
        poolMax: 4,
      };
    }

    async function scenario(
      fault: string,
      label: string,
      steps: Pick<Parameters<typeof runScenario>[0], 'breakDatabase' | 'restoreDatabase' | 'outageMs'>,
      operationTimeout = 0,
    ): Promise<ScenarioResult> {
      const app = appConfig(label, operationTimeout);
      const result = await runScenario({ engine: engine.name, fault, app, db, ...steps });
      results.push(result);
      await proxy.setMode('pass');
      return result;
    }

    it('the database goes away (every connection reset, new ones refused) and comes back', async () => {
      const result = await scenario('gone (reset + refused) 3 s', 'gone', {
        breakDatabase: async () => {
          await proxy.setMode('refuse');
          proxy.cut();
        },
        restoreDatabase: () => proxy.setMode('pass'),
      });
      expectSound(result, { events: ['disconnect', 'connect'] });
    }, SCENARIO_TIMEOUT_MS);

    it('new connections are refused and the open ones dropped one by one: one outage, not one per connection', async () => {
      // The connections not dropped yet still answer what is sent on them after the store's probe was refused: no
      // 'connect' for those, or express-session would use a store that fails at the next drop.
      const result = await scenario('refused, open ones dropped 200 ms apart', 'drain', {
        breakDatabase: async () => {
          await proxy.setMode('refuse');
          await proxy.cutOneByOne(200);
        },
        restoreDatabase: () => proxy.setMode('pass'),
      });
      expectSound(result, { events: ['disconnect', 'connect'] });
    }, SCENARIO_TIMEOUT_MS);

    it('packets are dropped (blackhole) for 6 s, then the network heals: operationTimeout bounds calls', async () => {
      // Long enough for the store to conclude: an operation times out (2 s), then its probe's connection does (2 s).
      const result = await scenario(
        `blackhole 6 s, operationTimeout ${OPERATION_TIMEOUT_MS} ms`,
        'hole',
        {
          breakDatabase: () => proxy.setMode('blackhole'),
          restoreDatabase: () => proxy.setMode('pass'),
          outageMs: 6_000,
        },
        OPERATION_TIMEOUT_MS,
      );
      expectSound(result, { events: ['disconnect', 'connect'] });
    }, SCENARIO_TIMEOUT_MS);

    it('every open connection is cut once (a failover): no availability event, the next requests work', async () => {
      const result = await scenario('cut once', 'cut', {
        breakDatabase: async () => proxy.cut(),
        restoreDatabase: async () => undefined,
        outageMs: 0,
      });
      expectSound(result, { events: [] });
    }, SCENARIO_TIMEOUT_MS);

    it('every packet is 200 ms late for 3 s: slow, but available', async () => {
      const result = await scenario('+200 ms each way, 3 s', 'slow', {
        breakDatabase: () => proxy.setMode('delay', { delayMs: 200 }),
        restoreDatabase: () => proxy.setMode('pass'),
      });
      expectSound(result, { events: [] });
    }, SCENARIO_TIMEOUT_MS);

    it('the database is unreachable when the app starts: it starts, fails cleanly, recovers by itself', async () => {
      await proxy.setMode('refuse');
      const result = await scenario('unreachable at start-up, 3 s', 'boot', {
        restoreDatabase: () => proxy.setMode('pass'),
      });
      expectSound(result, { events: ['disconnect', 'connect'] });
      // The store created its table once the database appeared.
      expect(await db.schema.hasTable(tables[tables.length - 1]!)).toBe(true);
    }, SCENARIO_TIMEOUT_MS);
  });
}

/** Print the figures of every scenario run in this file (jest shows stdout as it comes). */
export function printResults(title: string, results: ScenarioResult[]): void {
  if (results.length === 0) return;
  const date = new Date().toISOString().slice(0, 10);
  process.stdout.write(`\n[reliability] ${title} (${date})\n${formatResults(results)}\n\n`);
}
