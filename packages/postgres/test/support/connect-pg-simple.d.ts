/** The part of connect-pg-simple (which ships no types) that the adoption test uses. */
declare module 'connect-pg-simple' {
  type Done<T = unknown> = (error: Error | null, value?: T) => void;

  /** connect-pg-simple's store: express-session's callback API, plus its own prune and close. */
  export interface PGStore {
    get(sid: string, callback: Done): void;
    set(sid: string, session: object, callback: Done): void;
    touch(sid: string, session: object, callback: Done): void;
    destroy(sid: string, callback: Done): void;
    pruneSessions(callback: Done): void;
    close(): Promise<void>;
  }

  export interface PGStoreOptions {
    schemaName?: string;
    tableName?: string;
    createTableIfMissing?: boolean;
    pruneSessionInterval?: false | number;
    pool?: unknown;
    pgPromise?: { any(query: string, values: unknown[]): Promise<unknown[]> };
    errorLog?: (...args: unknown[]) => void;
  }

  export default function connectPgSimple(session: unknown): new (options: PGStoreOptions) => PGStore;
}
