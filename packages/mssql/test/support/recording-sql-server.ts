import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import { knexOnRecordedDriver, type RecordedStatement, type Recording } from '@csk/conformance/recorded/recording';

/** A parameter as tedious puts it on the wire: its name, its declared SQL Server type and its validated value. */
export interface WireParameter {
  readonly name: string;
  readonly declaration: string;
  readonly value: unknown;
}

/** One `sp_executesql` call as tedious would send it: knex's `@p0, @p1, …` placeholders, the values in order. */
export interface WireStatement extends RecordedStatement {
  readonly parameters: readonly WireParameter[];
}

/** What the recording server answers: result rows (column name to value) and the row count. */
export interface Reply {
  readonly rows?: ReadonlyArray<Record<string, unknown>>;
  readonly rowCount?: number;
}

/** Answers one statement, or throws to fail it (as the server would, with a RequestError). */
export type Responder = (statement: WireStatement) => Reply | undefined;

/** The slice of a tedious Request the recording connection reads (tedious's own class is used unchanged). */
interface TediousRequest extends EventEmitter {
  sqlTextOrProcedure: string;
  parameters: Array<{ name: string; value: unknown; type: { declaration(parameter: unknown): string } }>;
  validateParameters(collation: undefined): void;
  callback(error: Error | undefined, rowCount?: number): void;
}

/** A knex on the real `mssql` client whose tedious connections are recordings. */
export type RecordingSqlServer = Recording<WireStatement>;

/**
 * Build the recording. knex compiles every query with its real SQL Server dialect, positions the bindings, types
 * them for tedious and wraps them in real tedious `Request`s; only tedious's `Connection` is replaced, by one that
 * validates the parameters as tedious does before sending, records the `sp_executesql` call, and answers it from
 * `respond` through the same events a server's reply raises.
 */
export function recordingSqlServer(respond: Responder, config: Partial<Knex.Config> = {}): RecordingSqlServer {
  const statements: WireStatement[] = [];

  class RecordingConnection extends EventEmitter {
    readonly state = { name: 'LoggedIn' };

    connect(done: (error?: Error) => void): void {
      process.nextTick(done);
    }

    close(): void {
      process.nextTick(() => this.emit('end'));
    }

    /** tedious's transaction calls, which send no statement text: recorded as the T-SQL they stand for. */
    inTransaction = false;

    beginTransaction(done: (error?: Error) => void): void {
      this.#transaction('BEGIN TRANSACTION', true, done);
    }

    commitTransaction(done: (error?: Error) => void): void {
      this.#transaction('COMMIT TRANSACTION', false, done);
    }

    rollbackTransaction(done: (error?: Error) => void): void {
      this.#transaction('ROLLBACK TRANSACTION', false, done);
    }

    #transaction(sql: string, open: boolean, done: (error?: Error) => void): void {
      statements.push({ sql, parameters: [], values: [] });
      this.inTransaction = open;
      process.nextTick(done);
    }

    execSql(request: TediousRequest): void {
      let reply: Reply | undefined;
      let failure: Error | undefined;
      try {
        request.validateParameters(undefined);
        const parameters = request.parameters.map((p) => ({ name: p.name, declaration: p.type.declaration(p), value: p.value }));
        const statement = { sql: request.sqlTextOrProcedure, parameters, values: parameters.map((p) => p.value) };
        statements.push(statement);
        reply = respond(statement);
      } catch (error) {
        failure = error as Error;
      }
      process.nextTick(() => {
        if (failure) return request.callback(failure);
        const rows = reply?.rows ?? [];
        for (const row of rows) {
          request.emit('row', Object.entries(row).map(([colName, value]) => ({ metadata: { colName }, value })));
        }
        request.callback(undefined, reply?.rowCount ?? rows.length);
      });
    }
  }

  const knex = knexOnRecordedDriver(
    'mssql',
    (tedious) => ({ ...tedious, Connection: RecordingConnection }),
    { server: 'recording.invalid', database: 'app', user: 'app', password: 'secret' },
    config,
  );
  return { knex, statements };
}
