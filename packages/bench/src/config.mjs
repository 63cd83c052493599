// What the benchmark measures and where: sizes, durations, database URLs. `--quick` shrinks every duration for a
// smoke run; the default sizes are the ones the README's figures come from.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench package's folder. */
export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where SQLite files and per-contender working directories live during a run (removed at the end). */
export const WORK_DIR = path.join(BENCH_DIR, '.work');
/** Where results are saved. */
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');

/** The PostgreSQL server every PostgreSQL contender shares (as given, without the bench's session options). */
export const PG_SERVER_URL = process.env.CSK_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/**
 * `synchronous_commit` for every PostgreSQL contender's sessions alike, when CSK_BENCH_SYNCHRONOUS_COMMIT sets it
 * (`off`: a commit does not wait for the disk, as the runs before 2026-12-07 04:00 UTC were measured). Unset,
 * contenders run with the server's own setting, durable by default, as an application on a default server does.
 */
const SYNCHRONOUS_COMMIT = process.env.CSK_BENCH_SYNCHRONOUS_COMMIT || undefined;
const SYNCHRONOUS_COMMIT_VALUES = ['on', 'off', 'local', 'remote_write', 'remote_apply'];
if (SYNCHRONOUS_COMMIT && !SYNCHRONOUS_COMMIT_VALUES.includes(SYNCHRONOUS_COMMIT)) {
  throw new Error(
    `CSK_BENCH_SYNCHRONOUS_COMMIT must be one of ${SYNCHRONOUS_COMMIT_VALUES.join(', ')}, not ${SYNCHRONOUS_COMMIT}`,
  );
}
const sessionOptions = SYNCHRONOUS_COMMIT && encodeURIComponent(`-c synchronous_commit=${SYNCHRONOUS_COMMIT}`);
/** What every PostgreSQL contender connects with: the same server, with the same session settings. */
export const PG_URL = sessionOptions
  ? `${PG_SERVER_URL}${PG_SERVER_URL.includes('?') ? '&' : '?'}options=${sessionOptions}`
  : PG_SERVER_URL;
/** The MariaDB/MySQL server every MySQL contender shares. */
export const MYSQL_URL = process.env.CSK_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** The Redis server connect-redis runs on (skipped, with a note, when none answers). */
export const REDIS_URL = process.env.CSK_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Connections in every contender's pool (pg.Pool's and knex's default maximum). */
export const POOL_SIZE = 10;
/**
 * How long every pool keeps an idle connection: longer than a whole run, so that no trial begins by opening
 * connections again (the pools' defaults, 10 to 60 s, are shorter than the time between two trials of one contender).
 */
export const IDLE_MS = 30 * 60_000;
/** One day: the cookie's maxAge in every scenario. */
export const DAY_MS = 86_400_000;

/**
 * The sizes of a run. Durations are per trial; every contender runs one trial per round, the rounds alternate the
 * contenders, and the figures are medians over the rounds (ratios: the median of the per-round ratios).
 */
export function sizes(quick) {
  return quick
    ? {
        store: { sids: 200, inFlight: 32, warmupMs: 150, trialMs: 400, rounds: 1, sequentialBatches: 2, sequentialRequests: 10 },
        http: { users: 50, connections: 32, warmupMs: 1000, trialWarmupMs: 1000, trialMs: 1000, rounds: 1 },
      }
    : {
        store: { sids: 2000, inFlight: 32, warmupMs: 400, trialMs: 1500, rounds: 5, sequentialBatches: 20, sequentialRequests: 50 },
        // autocannon runs whole seconds (it checks the duration once a second). Two, not one: in one-second trials a
        // single stall (a checkpoint, a GC in the load generator) moved a contender's round by up to a third.
        // trialWarmupMs: a server waits while every other contender runs its trial, and after some 25 s without
        // requests its next 2 s cost the floor and ours alike 15-25 % more CPU per request; a second of load just
        // before each trial (autocannon's shortest) measures what a busy server does, as the store level's per-trial
        // warm-up already did.
        http: { users: 500, connections: 32, warmupMs: 1000, trialWarmupMs: 1000, trialMs: 2000, rounds: 5 },
      };
}

/** A MySQL URL as mysql2/knex connection options. */
export function mysqlOptions(url = MYSQL_URL) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.slice(1),
  };
}
