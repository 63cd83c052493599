import path from 'node:path';
import { knex, type Knex } from 'knex';
import type { KnexStore, KnexStoreOptions } from '@csk/core';
import { describeStoreConformance } from '../index.js';
import { describeLive } from '../scenarios/live.js';

/** A package whose database only the docker-compose matrix runs, for {@link describeMatrixConformance}. */
export interface MatrixTarget {
  /** The environment variable holding the server's URL, e.g. `CSK_MSSQL_URL`. */
  readonly variable: string;
  /** The database, which titles the live suite (skipped or not), e.g. 'SQL Server'. */
  readonly database: string;
  /** The conformance suite's title, e.g. 'SQL Server (tedious)'. */
  readonly name: string;
  /** The knex config for the server at `url`. */
  serverConfig(url: string): Knex.Config;
  /** The package's folder, from which child processes resolve knex, the driver and the built store. */
  readonly packageDir: string;
  /** The store class's name, exported by the built `dist/index.cjs`. */
  readonly storeExport: string;
  /** The package's store class with these options. */
  createStore(options: KnexStoreOptions): KnexStore;
}

/**
 * The whole conformance suite against the server the docker-compose matrix (`pnpm test:matrix`) names in
 * `target.variable`. Skipped without it, even in CI: no such server runs on this project's machines, so the recorded
 * tests are what CI checks.
 */
export function describeMatrixConformance(target: MatrixTarget): void {
  describeLive(
    target.variable,
    target.database,
    (url) => {
      const knexConfig = target.serverConfig(url);
      describeStoreConformance({
        name: target.name,
        createKnex: () => knex(knexConfig),
        createStore: (options) => target.createStore(options),
        isolated: {
          packageDir: target.packageDir,
          storeModule: path.join(target.packageDir, 'dist', 'index.cjs'),
          storeExport: target.storeExport,
          knexConfig,
        },
      });
    },
    { requiredInCi: false },
  );
}
