/**
 * PostgreSQL session store for express-session, through knex (`pg`, `pgnative`, `cockroachdb`, or a PostgreSQL
 * Client class such as PGlite's `knex-pglite`).
 *
 * ```sh
 * npm install @csk/postgres knex express-session pg
 * ```
 *
 * @packageDocumentation
 */
import { KnexStore, type KnexStoreOptions } from '@csk/core';
import { PostgresAdapter } from './postgres-adapter.js';

export { PostgresAdapter, sweepLockKey, type PostgresAdapterOptions } from './postgres-adapter.js';
export * from '@csk/core';

/** The options of {@link PostgresStore}: every core option, plus `jsonb`. */
export interface PostgresStoreOptions extends KnexStoreOptions {
  /** Create the `sess` column as `jsonb` instead of `json` (the default, upstream's type). Default `false`. */
  jsonb?: boolean;
}

/** An express-session store on PostgreSQL (and CockroachDB, and PGlite). The `knex` option is required. */
export class PostgresStore extends KnexStore {
  constructor(options?: PostgresStoreOptions) {
    const [core, jsonb] = withoutJsonb(options);
    super(core, new PostgresAdapter({ jsonb }));
  }
}

/** Take `jsonb` out, so that the core's unknown-option check never sees it; anything but an object goes on untouched. */
function withoutJsonb(options: PostgresStoreOptions | undefined): [KnexStoreOptions | undefined, boolean | undefined] {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return [options, undefined];
  const { jsonb, ...core } = options;
  return [core, jsonb];
}
