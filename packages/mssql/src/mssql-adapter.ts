import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import {
  BaseDialectAdapter,
  ConfigurationError,
  withPinnedConnection,
  type SessionRow,
  type SessionTable,
} from '@csk/core';

/** The sid column's collation: binary, so that sids differing only in case or accents are different sessions. */
export const MSSQL_SID_COLLATION = 'Latin1_General_100_BIN2';

/**
 * One atomic upsert. HOLDLOCK (serialisable) makes MERGE hold a key-range lock from its read to its write, so two
 * first writes of one sid queue instead of both inserting; SQL Server requires the terminating semicolon.
 */
const MERGE = `MERGE INTO :table: WITH (HOLDLOCK) AS [target]
USING (VALUES (:sidValue, :sessValue, CAST(:expiredValue AS datetime2(3)))) AS [source] (:sid:, :sess:, :expired:)
ON [target].:sid: = [source].:sid:
WHEN MATCHED THEN UPDATE SET :sess: = [source].:sess:, :expired: = [source].:expired:
WHEN NOT MATCHED THEN INSERT (:sid:, :sess:, :expired:) VALUES ([source].:sid:, [source].:sess:, [source].:expired:);`;

/**
 * Takes the sweep's application lock without waiting (`@LockTimeout = 0`) and returns sp_getapplock's status: 0 when
 * granted, negative when another session holds it. Owned by the session rather than a transaction, so that the
 * sweep's batches commit one by one while it is held: one transaction around them all would hold every deleted row's
 * lock to the end, and SQL Server escalates that many row locks to a lock on the whole table.
 */
export const GET_SWEEP_LOCK = `DECLARE @result int;
EXEC @result = sp_getapplock @Resource = ?, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @result AS [result];`;

/** Releases the lock {@link GET_SWEEP_LOCK} took. */
export const RELEASE_SWEEP_LOCK = "EXEC sp_releaseapplock @Resource = ?, @LockOwner = 'Session';";

/**
 * The application-lock resource of a table's sweep (application locks belong to one database): a hash of the schema
 * and table names, well within the 255 characters sp_getapplock takes.
 */
export function sweepLockResource(table: SessionTable): string {
  const name = `connect-session-knex sweep\0${table.schemaName ?? ''}\0${table.tableName}`;
  return `csk-sweep:${createHash('sha256').update(name).digest('hex')}`;
}

/** tedious's codes of a connection that broke, timed out or closed under a request. */
const CONNECTION_CODES = new Set(['ESOCKET', 'ETIMEOUT', 'ECLOSE', 'ECONNCLOSED', 'EINVALIDSTATE']);

/** The table as one identifier binding: knex splits it at the dot and brackets each part (core forbids dots in names). */
function qualifiedName(table: SessionTable): string {
  return table.schemaName ? `${table.schemaName}.${table.tableName}` : table.tableName;
}

/**
 * knex quotes SQL Server names by bracketing them after deleting every `[` and `]`, while its `hasTable` compares
 * the name as given: such a table would be created under one name and looked for under another.
 */
function refuseBrackets(table: SessionTable): void {
  const names = { schemaName: table.schemaName, tableName: table.tableName, sidFieldName: table.sidColumn };
  for (const [option, name] of Object.entries(names)) {
    if (name && /[[\]]/.test(name)) {
      throw new ConfigurationError(option, 'must not contain "[" or "]" on SQL Server (knex drops them from names)');
    }
  }
}

/**
 * SQL Server through knex's `mssql` client (tedious). sid is `nvarchar(255)` with a binary collation (nvarchar
 * because knex binds every string as nvarchar: a varchar key would be converted row by row and lose its index seek),
 * sess is `nvarchar(max)`, and expired is `datetime2(3)` holding UTC.
 */
export class MssqlAdapter extends BaseDialectAdapter {
  override readonly name = 'mssql';
  override readonly dialects = ['mssql'] as const;

  /** Refuse at construction the names knex would alter (see refuseBrackets). */
  override validateTable(names: SessionTable): void {
    refuseBrackets(names);
  }

  override defineTable(table: Knex.CreateTableBuilder, names: SessionTable): void {
    table.specificType(names.sidColumn, `nvarchar(255) collate ${MSSQL_SID_COLLATION}`).notNullable().primary();
    table.text(names.sessColumn).notNullable();
    table.specificType(names.expiredColumn, 'datetime2(3)').notNullable().index();
  }

  /**
   * ISO 8601 UTC text with milliseconds and no zone: `2026-01-31T12:00:00.000`. SQL Server reads this form the same
   * under every SET LANGUAGE and DATEFORMAT, and into datetime2(3) exactly. A `Date` would not do: knex binds it as
   * legacy `datetime` (1/300 s steps, widened inexactly to datetime2 since SQL Server 2016) and tedious encodes it
   * in local time when the application sets `useUTC: false`.
   */
  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString().slice(0, 23);
  }

  /** Also tedious's errors of a connection that broke or timed out (not a failed login: that is an answer). */
  override isConnectionError(error: unknown): boolean {
    if (super.isConnectionError(error)) return true;
    const { code } = (error ?? {}) as { code?: unknown };
    return typeof code === 'string' && CONNECTION_CODES.has(code);
  }

  /**
   * An application lock ({@link GET_SWEEP_LOCK}) on one pinned connection, held while the sweep's batches run and
   * commit one by one on that same connection, then released; if the connection dies instead, SQL Server releases it.
   */
  override async withSweepLock(knex: Knex, table: SessionTable, run: (knex: Knex) => Promise<void>): Promise<boolean> {
    const resource = sweepLockResource(table);
    return withPinnedConnection(knex, async (pinned) => {
      const rows: Array<{ result?: unknown }> = await pinned.raw(GET_SWEEP_LOCK, [resource]);
      if (!(Number(rows[0]?.result) >= 0)) return false;
      let failed = true;
      try {
        await run(pinned);
        failed = false;
      } finally {
        // A release that fails after the sweep failed must not hide the sweep's own error.
        await pinned.raw(RELEASE_SWEEP_LOCK, [resource]).catch((error: unknown) => {
          if (!failed) throw error;
        });
      }
      return true;
    });
  }

  /** The MERGE above: one statement, atomic for two first writes of one sid. */
  override async upsert(knex: Knex, table: SessionTable, row: SessionRow): Promise<void> {
    await knex.raw(MERGE, {
      table: qualifiedName(table),
      sid: table.sidColumn,
      sess: table.sessColumn,
      expired: table.expiredColumn,
      sidValue: row.sid,
      sessValue: row.sess,
      expiredValue: row.expired,
    });
  }
}
