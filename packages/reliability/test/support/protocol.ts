/** How the test configures the application process (JSON in the CSK_RELIABILITY_APP environment variable). */
export interface AppConfig {
  /** Which store class and knex client: `pg` (PostgresStore) or `mysql2` (MysqlStore). */
  readonly client: 'pg' | 'mysql2';
  readonly connection: Record<string, unknown>;
  readonly tableName: string;
  /** knex's acquireConnectionTimeout: how long an operation waits for a pooled connection. */
  readonly acquireConnectionTimeout: number;
  /** The store's operationTimeout (0: none). */
  readonly operationTimeout: number;
  readonly poolMax: number;
}

/** A store event as the application saw it. */
export interface StoreEvent {
  readonly name: string;
  readonly at: number;
}

/** What the application reports about itself. */
export interface AppReport {
  readonly unhandledRejections: string[];
  readonly uncaughtExceptions: string[];
  readonly events: StoreEvent[];
  /** Errors express-session handed to the error handler, by message (the 5xx responses' causes). */
  readonly errors: Record<string, number>;
  /** Calls express-session made to the store (get, set, touch, destroy) that called back. */
  storeCalls: number;
  /** The longest of them, from the call to its callback, in milliseconds. */
  slowestStoreCallMs: number;
}

/** Messages from the application process to the test. */
export type AppMessage =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'event'; readonly event: StoreEvent }
  | { readonly type: 'report'; readonly report: AppReport }
  | { readonly type: 'closed' };

/** Messages from the test to the application process. */
export type TestMessage = { readonly type: 'report' } | { readonly type: 'close' };

/** The body of a `/visit` answer: the session's counter after this visit, and its id. */
export interface VisitBody {
  readonly n?: number;
  readonly sid?: string;
  readonly error?: string;
}
