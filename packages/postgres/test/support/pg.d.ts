/** The part of node-postgres (whose types live in @types/pg, not installed here) that the tests use. */
declare module 'pg' {
  export interface PoolConfig {
    connectionString?: string;
    /** Server settings for every connection, as `-c name=value` command-line options. */
    options?: string;
    max?: number;
  }

  export class Pool {
    constructor(config?: PoolConfig);
    query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
    end(): Promise<void>;
  }

  const pg: { Pool: typeof Pool };
  export default pg;
}
