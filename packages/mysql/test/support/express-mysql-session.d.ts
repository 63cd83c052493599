/** The part of express-mysql-session (which ships no types) that the adoption test uses. */
declare module 'express-mysql-session' {
  /** express-mysql-session's store: each method resolves a promise when no callback is given. */
  export interface MySQLStore {
    onReady(): Promise<void>;
    get(sid: string): Promise<unknown>;
    set(sid: string, session: object): Promise<unknown>;
    touch(sid: string, session: object): Promise<unknown>;
    destroy(sid: string): Promise<unknown>;
    length(): Promise<number>;
    all(): Promise<Record<string, unknown>>;
    clearExpiredSessions(): Promise<unknown>;
    close(): Promise<void>;
  }

  export interface MySQLStoreOptions {
    host?: string;
    port?: number;
    user?: string;
    password?: string;
    database?: string;
    createDatabaseTable?: boolean;
    clearExpired?: boolean;
    schema?: { tableName?: string; columnNames?: { session_id?: string; expires?: string; data?: string } };
  }

  export default function expressMysqlSession(session: unknown): new (options: MySQLStoreOptions) => MySQLStore;
}
