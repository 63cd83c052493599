import type { Knex } from 'knex';
import { AppProcess } from './app.js';
import { storedCounters } from './engines.js';
import { startLoad, timeToService, VirtualUser, type LoadStats } from './load.js';
import type { AppConfig, AppReport } from './protocol.js';

/**
 * knex's acquireConnectionTimeout in the application. "No hang" means: every call express-session makes to the store
 * calls back within it plus {@link MARGIN_MS}.
 */
export const ACQUIRE_TIMEOUT_MS = 2_000;
/** The store's operationTimeout, where a scenario sets one (connections that stall mid-query): the same bound. */
export const OPERATION_TIMEOUT_MS = ACQUIRE_TIMEOUT_MS;
/** Allowance for what a store call does besides waiting (the query itself, the event loop of a loaded process). */
export const MARGIN_MS = 1_000;
/** The longest a store call may take. */
export const STORE_CALL_LIMIT_MS = ACQUIRE_TIMEOUT_MS + MARGIN_MS;
/**
 * The longest a request may take: express-session makes up to three store calls in one, one after the other (get on
 * arrival; set, from the route's explicit save; touch, when the response ends), each within its own bound. A request
 * not answered by then counts as hung.
 */
export const DEADLINE_MS = 3 * ACQUIRE_TIMEOUT_MS + MARGIN_MS;
/** The service must answer again within this of the database's return. */
export const RECOVERY_LIMIT_MS = 2_000;
/** Virtual users, each visiting sequentially. */
export const USERS = 8;

/** Everything one fault scenario measured. */
export interface ScenarioResult {
  readonly engine: string;
  readonly fault: string;
  readonly load: LoadStats;
  readonly report: AppReport;
  /** Whether the application process was still running at the end (a crash ends it). */
  readonly alive: boolean;
  /** Milliseconds from the database's return to the first 200, or undefined when it never came. */
  readonly recoveryMs: number | undefined;
  /** When the fault began (undefined when the database was broken from the start) and when the database was back. */
  readonly faultAt: number | undefined;
  readonly backAt: number;
  /** Users whose acknowledged counter is not in the database afterwards (missing row or a lower counter). */
  readonly lostAcknowledged: string[];
  /** Users with an acknowledged session when the fault began. */
  readonly ackedBeforeFault: number;
  /** The application process's exit after close: it must exit by itself, with code 0. */
  readonly exit: { code: number | null; signal: string | null };
}

/** The phases of a scenario, as functions of the test's own. */
export interface ScenarioPlan {
  readonly engine: string;
  readonly fault: string;
  readonly app: AppConfig;
  /** Reads the table after the run, straight from the server. */
  readonly db: Knex;
  /** Break the database (resolves once it is broken); `undefined` when the database is broken from the start. */
  readonly breakDatabase?: () => Promise<void>;
  /** Bring it back; resolves at the moment it is back, from which recovery is measured. */
  readonly restoreDatabase: () => Promise<void>;
  readonly warmMs?: number;
  readonly outageMs?: number;
  readonly afterMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress on stderr with CSK_RELIABILITY_DEBUG=1. */
function debug(message: string): void {
  if (process.env.CSK_RELIABILITY_DEBUG) process.stderr.write(`[reliability ${new Date().toISOString()}] ${message}\n`);
}

/**
 * Run the application under load, break the database, keep the load on, bring the database back, measure how long
 * the service takes to answer again, keep the load on a little longer, then check every acknowledged session against
 * the table and collect the application's own account.
 */
export async function runScenario(plan: ScenarioPlan): Promise<ScenarioResult> {
  const app = await AppProcess.start(plan.app);
  debug(`${plan.engine} ${plan.fault}: the application listens at ${app.url}`);
  try {
    const users = Array.from({ length: USERS }, (_, i) => new VirtualUser(`user${i}`));
    const watcher = new VirtualUser('watcher');
    const load = startLoad(app.url, users, { deadlineMs: DEADLINE_MS });
    let faultAt: number | undefined;
    if (plan.breakDatabase) {
      await sleep(plan.warmMs ?? 1_000);
      await timeToService(app.url, watcher, Date.now(), { deadlineMs: DEADLINE_MS, stats: load.stats });
      debug(`warm: ${JSON.stringify(load.stats.byStatus)}; breaking the database`);
      faultAt = Date.now();
      await plan.breakDatabase();
    }
    const ackedBeforeFault = [...users, watcher].filter((user) => user.acked > 0).length;
    await sleep(plan.outageMs ?? 3_000);
    debug(`outage: ${JSON.stringify(load.stats.byStatus)}; restoring the database`);
    await plan.restoreDatabase();
    const back = Date.now();
    const recoveryMs = await timeToService(app.url, watcher, back, { deadlineMs: DEADLINE_MS, stats: load.stats });
    debug(`service back after ${recoveryMs} ms`);
    await sleep(plan.afterMs ?? 1_000);
    const stats = await load.stop();
    debug(`load stopped: ${JSON.stringify(stats.byStatus)}`);
    const report = await app.report();
    const alive = app.alive;
    const everyone = [...users, watcher].filter((user) => user.acked > 0 && user.sid);
    const stored = await storedCounters(plan.db, plan.app.tableName, everyone.map((user) => user.sid!));
    const lostAcknowledged = everyone
      .filter((user) => !((stored.get(user.sid!) ?? 0) >= user.acked))
      .map((user) => `${user.name}: acknowledged ${user.acked}, stored ${stored.get(user.sid!) ?? 'nothing'}`);
    const exit = await app.close();
    return {
      engine: plan.engine,
      fault: plan.fault,
      load: stats,
      report,
      alive,
      recoveryMs,
      faultAt,
      backAt: back,
      lostAcknowledged,
      ackedBeforeFault,
      exit,
    };
  } finally {
    app.kill();
  }
}

/** One line of figures per scenario, for the test output and the README. */
export function formatResults(results: ScenarioResult[]): string {
  const rows = results.map((r) => {
    const statuses = Object.entries(r.load.byStatus)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, count]) => `${status}×${count}`)
      .join(' ');
    const at = (name: string) => r.report.events.find((event) => event.name === name)?.at;
    const disconnect = at('disconnect');
    const events =
      r.report.events
        .map((event) => {
          if (event.name === 'disconnect' && r.faultAt !== undefined) return `disconnect (+${event.at - r.faultAt} ms)`;
          if (event.name === 'connect' && disconnect !== undefined) return `connect (+${event.at - r.backAt} ms)`;
          return event.name;
        })
        .join(' → ') || 'none';
    return [
      r.engine,
      r.fault,
      String(r.load.total),
      statuses,
      `${r.report.slowestStoreCallMs} ms`,
      `${r.load.maxMs} ms`,
      String(r.load.hung),
      r.recoveryMs === undefined ? 'never' : `${r.recoveryMs} ms`,
      events,
      `${r.report.unhandledRejections.length}/${r.report.uncaughtExceptions.length}`,
      `${r.ackedBeforeFault}, ${r.lostAcknowledged.length} lost`,
    ];
  });
  const header = [
    'engine',
    'fault',
    'requests',
    'answers',
    'slowest store call',
    'slowest request',
    'hung',
    'back after',
    'store events (ms after the fault / the return)',
    'unhandled/uncaught',
    'acked sessions',
  ];
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}
