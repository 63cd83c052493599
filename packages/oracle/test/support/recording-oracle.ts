import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import oracledb from 'oracledb';
import { knexOnRecordedDriver, type RecordedStatement, type Recording } from '@csk/conformance/recorded/recording';

/** A bind as node-oracledb resolves it before sending: its database type and its value. */
export interface WireBind {
  /** The bind type's name, e.g. `DB_TYPE_VARCHAR`, `DB_TYPE_CLOB`, `DB_TYPE_TIMESTAMP_TZ`. */
  readonly type: string;
  readonly value: unknown;
}

/** One `connection.execute` call as knex makes it: knex's `:1, :2, …` placeholders, the bind values in order. */
export interface WireStatement extends RecordedStatement {
  readonly binds: readonly WireBind[];
}

/** What the recording database answers: rows for a query, or the affected-row count for DML. */
export type Reply = { readonly rows: ReadonlyArray<Record<string, unknown>> } | { readonly rowsAffected: number };

/** Answers one statement, or throws to fail it (as the database would, with an `ORA-` error). */
export type Responder = (statement: WireStatement) => Reply | undefined;

/** A knex on the real `oracledb` client whose connections are recordings. */
export interface RecordingOracle extends Recording<WireStatement> {
  /** How many times knex committed. */
  readonly commits: () => number;
}

/** A CLOB as thin mode returns it in a row: a readable LOB stream of the given text. */
export function clob(text: string): Readable {
  return Object.assign(Readable.from([Buffer.from(text, 'utf8')]), { type: oracledb.CLOB });
}

type Callback<T> = (error: Error | null, result?: T) => void;
type BindInfo = { type: { name: string }; values: unknown[] };
type BindProcessor = { _processExecuteBinds(binds: unknown): Promise<BindInfo[]> };

/** node-oracledb's own bind checks and type resolution, borrowed from its Connection class (no connection needed). */
export const bindProcessor = Object.create(oracledb.Connection.prototype) as BindProcessor;

/**
 * Build the recording. knex compiles every statement with its real Oracle dialect and runs it through its real
 * oracledb code (connection set-up, version detection, LOB reading, commits); only node-oracledb's `getConnection` is
 * replaced, by one that resolves each bind as node-oracledb does, records the call, and answers from `respond`.
 */
export function recordingOracle(respond: Responder, config: Partial<Knex.Config> = {}): RecordingOracle {
  const statements: WireStatement[] = [];
  let commits = 0;

  const connection = {
    oracleServerVersionString: '23.5.0.24.7',
    execute(sql: string, binds: unknown, options: { resultSet?: boolean }, done: Callback<unknown>): void {
      bindProcessor._processExecuteBinds(binds).then(
        (resolved) => {
          const wire = resolved.map((bind) => ({ type: bind.type.name, value: bind.values[0] }));
          const statement = { sql, binds: wire, values: wire.map((bind) => bind.value) };
          statements.push(statement);
          let reply: Reply | undefined;
          try {
            reply = respond(statement);
          } catch (error) {
            return done(error as Error);
          }
          const rows = reply && 'rows' in reply ? [...reply.rows] : undefined;
          if (!options.resultSet) return done(null, rows ? { rows } : { rowsAffected: reply && 'rowsAffected' in reply ? reply.rowsAffected : 0 });
          const resultSet = {
            getRows: (n: number, next: Callback<unknown[]>) => next(null, (rows ?? []).splice(0, n)),
            close: (next: Callback<void>) => next(null),
          };
          done(null, { resultSet });
        },
        (error: Error) => done(error),
      );
    },
    commit(done: Callback<void>): void {
      commits += 1;
      done(null);
    },
    rollback(done: Callback<void>): void {
      done(null);
    },
    close: () => Promise.resolve(),
    release: () => Promise.resolve(),
  };

  const knex = knexOnRecordedDriver(
    'oracledb',
    (driver) => ({ ...driver, getConnection: (_settings: unknown, done: Callback<unknown>) => done(null, connection) }),
    { user: 'app', password: 'secret', connectString: 'recording.invalid/FREEPDB1' },
    config,
  );
  return { knex, statements, commits: () => commits };
}
