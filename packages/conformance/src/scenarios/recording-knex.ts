import { knex as createKnex, type Knex } from 'knex';

/** One statement a recording knex received. */
export interface RecordedQuery {
  sql: string;
  bindings: readonly unknown[];
}

/**
 * What a recording knex answers for a statement: the rows of a SELECT (an array), or for a write the number of rows
 * it touched. Undefined means "no rows" / "0 rows".
 */
export type Responder = (query: RecordedQuery) => unknown[] | number | undefined;

/** A knex with no database behind it, and the statements it was asked to run. */
export interface RecordingKnex {
  knex: Knex;
  queries: RecordedQuery[];
}

/**
 * A knex of the real client `client` (so the SQL is exactly what that client compiles, identifiers quoted its way)
 * whose statements go nowhere: each is recorded, and answered by `respond`. For checking the SQL a database that does
 * not run here (CockroachDB, MySQL 8) would receive. The client's driver module must be installed (knex loads it).
 */
export function recordingKnex(client: string, respond: Responder = () => undefined): RecordingKnex {
  const queries: RecordedQuery[] = [];
  // The real client class, found through a throwaway knex; a subclass records, so that the client copies knex makes
  // for transactions (from the class's prototype) record too.
  const probe = createKnex({ client, connection: {} });
  const Real = probe.client.constructor as typeof Knex.Client;
  void probe.destroy();
  class Recording extends Real {
    override async acquireConnection(): Promise<unknown> {
      return { recording: true };
    }

    override async releaseConnection(): Promise<void> {}

    async _query(_connection: unknown, query: { sql: string; bindings?: unknown[]; response?: unknown }): Promise<unknown> {
      const recorded = { sql: query.sql, bindings: [...(query.bindings ?? [])] };
      queries.push(recorded);
      const answer = respond(recorded);
      const rows = Array.isArray(answer) ? answer : [];
      const count = typeof answer === 'number' ? answer : rows.length;
      // Each family's processResponse reads its own driver's result shape.
      query.response =
        this.dialect === 'mysql'
          ? [Array.isArray(answer) ? rows : { affectedRows: count }, []]
          : { rows, rowCount: count, command: query.sql.trim().split(/\s+/)[0]!.toUpperCase() };
      return query;
    }
  }
  const knex = createKnex({ client: Recording, connection: {}, pool: { min: 0, max: 1 } });
  return { knex, queries };
}
