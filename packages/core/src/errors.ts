const PREFIX = '[connect-session-knex]';

/** The base class of every error the store raises. The original error, if any, is kept as `cause`. */
export class ConnectSessionKnexError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`${PREFIX} ${message}`, options);
    this.name = new.target.name;
  }
}

/** An option passed to the constructor has the wrong type or value. `option` names it. */
export class ConfigurationError extends ConnectSessionKnexError {
  readonly option: string;

  constructor(option: string, problem: string, options?: { cause?: unknown }) {
    super(`option "${option}" ${problem}`, options);
    this.option = option;
  }
}

/** The database refused or failed an operation. `operation` is the store method; `cause` the driver's error. */
export class DatabaseError extends ConnectSessionKnexError {
  readonly operation: string;

  constructor(operation: string, cause: unknown) {
    super(`${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.operation = operation;
  }
}

/** The session table does not exist and `createTable` is false. */
export class SessionTableMissingError extends ConnectSessionKnexError {
  constructor(table: string) {
    super(
      `the session table ${table} does not exist and createTable is false: ` +
        'create it in a migration (see the README) or set createTable: true',
    );
  }
}

/**
 * A column of the session table holds what the options do not describe: `column` names it, `found` says what it holds,
 * `option` names the option that fits it, and `suggested` gives that option's value when it can be told.
 */
export interface ColumnMismatch {
  readonly column: string;
  readonly found: string;
  readonly option: string;
  readonly suggested?: string;
}

/**
 * The session table exists but is not the table the options describe: it lacks columns the store needs (`missing`
 * lists them), or its expiry column holds what `expiryEncoding` does not say (`mismatch` describes it; `missing` is
 * empty). The store checks at start-up rather than fail on the first request, or lose live sessions to the prune.
 */
export class SessionTableShapeError extends ConnectSessionKnexError {
  readonly table: string;
  readonly missing: readonly string[];
  /** What a column holds that the options do not describe, when that is the problem. */
  readonly mismatch: ColumnMismatch | undefined;

  constructor(table: string, missing: readonly string[], found: readonly string[]);
  constructor(table: string, mismatch: ColumnMismatch);
  constructor(table: string, problem: readonly string[] | ColumnMismatch, found: readonly string[] = []) {
    const list = (names: readonly string[]): string => names.map((name) => JSON.stringify(name)).join(', ');
    if (!isNameList(problem)) {
      const fix = problem.suggested === undefined ? `check the ${problem.option} option` : `set ${problem.option}: '${problem.suggested}'`;
      super(
        `the session table ${table} has the column ${JSON.stringify(problem.column)} holding ${problem.found}: ${fix} ` +
          '(the store refuses to start rather than read live sessions as expired and prune them)',
      );
      this.table = table;
      this.missing = Object.freeze([]);
      this.mismatch = Object.freeze({ ...problem });
      return;
    }
    const missing = problem;
    super(
      `the session table ${table} lacks the column${missing.length === 1 ? '' : 's'} ${list(missing)} ` +
        `(it has ${found.length > 0 ? list(found) : 'none'}): add ${missing.length === 1 ? 'it' : 'them'} in a ` +
        'migration, or create the table with createSessionTable() or sessionTableMigration() (see the README), or ' +
        'check the tableName, sidFieldName, sessFieldName, expiredFieldName and columns options',
    );
    this.table = table;
    this.missing = Object.freeze([...missing]);
    this.mismatch = undefined;
  }
}

function isNameList(value: readonly string[] | ColumnMismatch): value is readonly string[] {
  return Array.isArray(value);
}

/**
 * The prune stopped before deleting anything, because the rows it would delete do not look expired on a second
 * reading (`reason: 'second-reading'`: they are live read in another expiry encoding), or because it would delete more
 * than `pruneMaxShare` of the table with no such prune recently (`reason: 'share'`). Nothing was deleted.
 */
export class PruneGuardError extends ConnectSessionKnexError {
  readonly table: string;
  readonly reason: 'second-reading' | 'share';

  constructor(table: string, reason: 'second-reading' | 'share', problem: string) {
    super(`the prune of ${table} stopped and deleted nothing: ${problem}`);
    this.table = table;
    this.reason = reason;
  }
}

/**
 * A session id or session object cannot be stored, or a stored row cannot be read back. `sid` names the session when
 * the error is about a stored row (a corrupt one: see the `onCorruptSession` option).
 */
export class InvalidSessionError extends ConnectSessionKnexError {
  readonly sid: string | undefined;

  constructor(message: string, options?: { cause?: unknown; sid?: string }) {
    super(message, options);
    this.sid = options?.sid;
  }
}

/** The filter given to `destroyWhere` or `findWhere` is not one the store can run; nothing was read or deleted. */
export class InvalidFilterError extends ConnectSessionKnexError {
  constructor(problem: string) {
    super(`invalid filter: ${problem}`);
  }
}

/** The store was closed with `close()`; it accepts no more operations. */
export class StoreClosedError extends ConnectSessionKnexError {
  constructor(operation: string) {
    super(`${operation} called after close()`);
  }
}

/** An error's message for another message: without the prefix when it is one of the store's own errors. */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof ConnectSessionKnexError ? message.replace(/^\[connect-session-knex\] /, '') : message;
}
