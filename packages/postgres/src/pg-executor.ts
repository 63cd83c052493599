import type { NativeExecutor, NativeStatement } from '@csk/core';

/** The part of a node-postgres `Client` (or pooled client) the executor uses. */
interface PgClient {
  query(config: PgQueryConfig): Promise<{ rows: unknown[][]; rowCount: number | null }>;
  /** node-postgres' protocol connection, which remembers the statements parsed on it by name. */
  connection: { parsedStatements: Record<string, string | undefined> };
}

interface PgQueryConfig {
  text: string;
  values?: readonly unknown[];
  name?: string;
  rowMode?: 'array';
}

/** SQLSTATEs saying that the server does not hold the named statements this client believes it prepared. */
const LOST_STATEMENT = new Set([
  '26000', // invalid_sql_statement_name: "prepared statement … does not exist"
  '42P05', // duplicate_prepared_statement: "prepared statement … already exists"
]);
/** feature_not_supported, raised as "cached plan must not change result type" after the table's columns changed. */
const STALE_PLAN = '0A000';
/** The names core gives statements; checked before one is written into a DEALLOCATE. */
const STATEMENT_NAME = /^[a-z0-9_]+$/;

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/**
 * The fast path on node-postgres (knex's `pg` client): each statement is a named query, so that the server parses
 * and plans it once per connection and afterwards only binds and executes it. Rows come back as arrays.
 *
 * Behind a pooler that does not keep a client's prepared statements (PgBouncer in transaction mode before 1.21), the
 * server answers that a statement does not exist, or already exists: the executor then sends the same SQL unnamed from
 * that moment on. After the table's columns change under a prepared statement, it deallocates it and prepares again.
 */
export class PgExecutor implements NativeExecutor {
  #named = true;

  /** A node-postgres client; PGlite's knex client reports the same driver but hands out a PGlite instance. */
  accepts(connection: unknown): boolean {
    const candidate = connection as Partial<PgClient> | null;
    return typeof candidate?.query === 'function' && typeof candidate.connection?.parsedStatements === 'object';
  }

  async read(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<unknown[][]> {
    return (await this.#query(connection as PgClient, statement, values, true)).rows;
  }

  async write(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<number> {
    return (await this.#query(connection as PgClient, statement, values, false)).rowCount ?? 0;
  }

  async #query(client: PgClient, statement: NativeStatement, values: readonly unknown[], rows: boolean) {
    const config: PgQueryConfig = { text: statement.sql, values, ...(rows && { rowMode: 'array' as const }) };
    if (!this.#named) return client.query(config);
    try {
      return await client.query({ ...config, name: statement.name });
    } catch (error) {
      const code = codeOf(error);
      if (LOST_STATEMENT.has(code as string)) {
        this.#named = false;
        delete client.connection.parsedStatements[statement.name];
        return client.query(config);
      }
      const stalePlan = code === STALE_PLAN && /cached plan/i.test(String((error as Error | null)?.message));
      if (stalePlan && STATEMENT_NAME.test(statement.name)) {
        await client.query({ text: `DEALLOCATE ${statement.name}` });
        delete client.connection.parsedStatements[statement.name];
        return client.query({ ...config, name: statement.name });
      }
      throw error;
    }
  }
}
