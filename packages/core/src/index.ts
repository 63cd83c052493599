/**
 * The core of connect-session-knex: the express-session store, its options and errors, and the contract a SQL
 * dialect fills in. Applications install a dialect package (`@csk/<dialect>`) or `connect-session-knex`.
 *
 * @packageDocumentation
 */
export { KnexStore } from './knex-store.js';
export type { FoundSession } from './stored-sessions.js';
export { MAX_SID_LENGTH, type SessionFilter } from './input-checks.js';
export type { PruneEvent, PruneProgressEvent, SetEvent, DestroyEvent } from './store-events.js';
export type {
  ColumnTypes,
  DialectAdapter,
  DialectCapabilities,
  ErrorKind,
  PruneLock,
  TableCatalog,
} from './dialect-adapter.js';
export {
  BaseDialectAdapter,
  catalogView,
  PORTABLE_CAPABILITIES,
  PORTABLE_CATALOG,
  PORTABLE_COLUMNS,
  PRUNE_BATCH_SIZE,
  type CatalogView,
} from './base-adapter.js';
export { rowColumns, type SessionRow, type SessionTable } from './session-table.js';
export { JSON_SERIALIZER, type Serializer, type SerializerContext } from './serializer.js';
export { createEncryptedSerializer, ENCRYPTION_FORMAT, type EncryptedSerializerOptions } from './encryption.js';
export {
  resolveOptions,
  isKnex,
  DEFAULT_TTL_MS,
  DEFAULT_CLEANUP_INTERVAL_MS,
  DEFAULT_PRUNE_MAX_SHARE,
  DEFAULT_OPERATION_TIMEOUT_MS,
  type KnexStoreOptions,
  type ResolvedOptions,
  type ExpiryEncoding,
  type ExtraColumn,
} from './options.js';
export { expiryOf, MAX_EXPIRY_MS } from './expiry.js';
export { SessionStatements } from './session-statements.js';
export type { NativeExecutor, NativeExecutorContext, NativeStatement } from './native-executor.js';
export { TouchThrottle, TOUCH_THROTTLE_CAPACITY } from './touch-throttle.js';
export { settle, type Callback } from './callback.js';
export { AVAILABILITY_PROBE_INTERVAL_MS, type AvailabilityEvent } from './availability.js';
export {
  CONNECTION_ERROR_CODES,
  OPERATION_TIMEOUT_CODE,
  checkConnection,
  errorChain,
  isCommonConnectionError,
} from './connection.js';
export {
  ConnectSessionKnexError,
  ConfigurationError,
  DatabaseError,
  InvalidFilterError,
  InvalidSessionError,
  SessionTableMissingError,
  SessionTableShapeError,
  StoreClosedError,
  PruneGuardError,
  type ColumnMismatch,
} from './errors.js';
export {
  createSessionTable,
  checkTableShape,
  requiredColumns,
  resolveSessionTable,
  sessionTable,
  type SessionTableOptions,
} from './table-setup.js';
export { type SessionExpiry, type SessionStats, type StatsOptions } from './stats.js';
export { decodeExpiry } from './stored-expiry.js';
export type { StoredRead } from './session-statements.js';
