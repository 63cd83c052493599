import path from 'node:path';
import vm from 'node:vm';
import { knex, type Knex } from 'knex';
import ClientPGlite from 'knex-pglite';
import type { LiveTarget, ProcessTarget } from '@csk/conformance/scenarios/workers';
import { PostgresStore, type PostgresStoreOptions } from '@csk/postgres';

/** The package's folder, from which worker processes resolve knex, the drivers and the built store. */
export const packageDir = path.resolve(__dirname, '..');
/** The built store (`npx tsup` first): what worker processes load. */
export const storeModule = path.join(packageDir, 'dist', 'index.cjs');

/** The store, as the tests build it. */
export const createStore = (options: PostgresStoreOptions): PostgresStore => new PostgresStore(options);

/** A PostgreSQL server's knex config (`CSK_PG_URL`, e.g. postgres://postgres@127.0.0.1:5432/test). */
export function serverConfig(url: string, client = 'pg'): Knex.Config {
  return { client, connection: url, pool: { min: 0, max: 8 } };
}

/**
 * A knex on a fresh in-memory PGlite (a real PostgreSQL, compiled to WebAssembly, inside this process). PGlite loads
 * its parts with import(), which jest only allows with Node's --experimental-vm-modules (`pnpm test` sets it).
 */
export function pgliteKnex(): Knex {
  if (typeof (vm as { SyntheticModule?: unknown }).SyntheticModule !== 'function') {
    throw new Error('PGlite under jest needs NODE_OPTIONS=--experimental-vm-modules: run `pnpm test` in packages/postgres');
  }
  return knex({ client: ClientPGlite, connection: {} });
}

/** A PGlite target for worker processes: each worker opens an in-memory database of its own. */
export const pgliteProcess: ProcessTarget = {
  packageDir,
  storeModule,
  storeExport: 'PostgresStore',
  knexConfig: { connection: {} },
  clientModule: 'knex-pglite',
};

/** The live target of a PostgreSQL server. */
export function serverTarget(url: string): LiveTarget {
  const config = serverConfig(url);
  return {
    name: 'PostgreSQL (pg)',
    createKnex: () => knex(config),
    createStore,
    process: { packageDir, storeModule, storeExport: 'PostgresStore', knexConfig: config },
    shared: true,
  };
}

/** The live target of PGlite. */
export const pgliteTarget: LiveTarget = {
  name: 'PGlite (knex-pglite)',
  createKnex: pgliteKnex,
  createStore,
  process: pgliteProcess,
  shared: false,
};

/** Epoch milliseconds of a timestamptz column, whatever the session's TimeZone. */
export const EXPIRY_MS = '(extract(epoch from ??) * 1000)::bigint';
