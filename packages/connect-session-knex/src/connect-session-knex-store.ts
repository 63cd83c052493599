import { ConfigurationError, isKnex, KnexStore, type DialectAdapter, type KnexStoreOptions } from '@csk/core';
import { SqliteAdapter } from '@csk/sqlite';
import { selectAdapter } from './adapters.js';

/** The options of {@link ConnectSessionKnexStore}: every core option, plus an adapter to bypass the lookup. */
export interface ConnectSessionKnexStoreOptions extends KnexStoreOptions {
  /**
   * The dialect adapter to use instead of the one picked from the knex client: for a database or driver this
   * package does not know, or to customise a known one. Default: looked up from `knex`.
   */
  adapter?: DialectAdapter;
}

const ADAPTER_OBJECTS = ['capabilities', 'columns', 'catalog'] as const;
const ADAPTER_METHODS = ['encodeExpiry', 'upsert', 'classifyError'] as const;

/** The `adapter` option, refused with a ConfigurationError unless it has what every adapter must. */
export function checkAdapter(adapter: unknown): DialectAdapter {
  const candidate = adapter as Partial<Record<string, unknown>> | null;
  const missing =
    typeof candidate !== 'object' || candidate === null
      ? ['name', ...ADAPTER_OBJECTS, ...ADAPTER_METHODS]
      : [
          ...(typeof candidate.name === 'string' ? [] : ['name']),
          ...ADAPTER_OBJECTS.filter((member) => typeof candidate[member] !== 'object' || candidate[member] === null),
          ...ADAPTER_METHODS.filter((method) => typeof candidate[method] !== 'function'),
        ];
  if (missing.length > 0) {
    throw new ConfigurationError(
      'adapter',
      `must be a DialectAdapter (extend BaseDialectAdapter from @csk/core); it lacks ${missing.join(', ')}`,
    );
  }
  return adapter as DialectAdapter;
}

/** Split off `adapter`, which only this class reads, and pick the adapter: explicit, looked up, or SQLite's default. */
function prepare(options: ConnectSessionKnexStoreOptions | undefined): [KnexStoreOptions | undefined, DialectAdapter] {
  // Anything but an options object is left for core to reject with its own message.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return [options, new SqliteAdapter()];
  }
  const { adapter, ...rest } = options;
  if (adapter !== undefined) return [rest, checkAdapter(adapter)];
  // No knex (or not a knex, which core refuses): SQLite is the dialect of the default database file.
  return [rest, isKnex(rest.knex) ? selectAdapter(rest.knex) : new SqliteAdapter()];
}

/**
 * An express-session store on any database knex speaks, picking the dialect adapter from the knex instance: a
 * drop-in for connect-session-knex 5's class of the same name. Without a `knex` option it opens
 * `connect-session-knex.sqlite` in the working directory (through `sqlite3`) and destroys it on `close()`.
 *
 * @example
 * ```ts
 * import session from 'express-session';
 * import knex from 'knex';
 * import { ConnectSessionKnexStore } from 'connect-session-knex';
 *
 * const store = new ConnectSessionKnexStore({ knex: knex({ client: 'pg', connection: process.env.DATABASE_URL }) });
 * app.use(session({ store, secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false }));
 * ```
 *
 * @throws {UnsupportedDialectError} when the knex client has no adapter and none is passed.
 * @throws {ConfigurationError} when an option is invalid.
 */
export class ConnectSessionKnexStore extends KnexStore {
  constructor(options?: ConnectSessionKnexStoreOptions) {
    const [rest, adapter] = prepare(options);
    super(rest, adapter);
  }
}
