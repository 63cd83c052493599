/**
 * The core of connect-session-knex: the express-session store, its options and errors, and the contract a SQL
 * dialect fills in. Applications install a dialect package (`@csk/<dialect>`) or `connect-session-knex`.
 *
 * @packageDocumentation
 */
export { KnexStore, PRUNE_BATCH_SIZE, MAX_SID_LENGTH, type PruneEvent } from './knex-store.js';
export { BaseDialectAdapter, rowCount, type DialectAdapter, type SessionRow, type SessionTable } from './dialect-adapter.js';
export {
  resolveOptions,
  isKnex,
  DEFAULT_TTL_MS,
  DEFAULT_CLEANUP_INTERVAL_MS,
  type KnexStoreOptions,
  type ResolvedOptions,
} from './options.js';
export { createEncryptedSerializer, ENCRYPTION_FORMAT, type EncryptedSerializerOptions } from './encryption.js';
export { expiryOf, MAX_EXPIRY_MS } from './expiry.js';
export {
  SessionStatements,
  type NativeExecutor,
  type NativeExecutorContext,
  type NativeStatement,
} from './session-statements.js';
export { TouchThrottle, TOUCH_THROTTLE_CAPACITY } from './touch-throttle.js';
export { settle, type Callback } from './callback.js';
export { AVAILABILITY_PROBE_INTERVAL_MS, type AvailabilityEvent } from './availability.js';
export {
  CONNECTION_ERROR_CODES,
  OPERATION_TIMEOUT_CODE,
  checkConnection,
  errorChain,
  isCommonConnectionError,
  withPinnedConnection,
} from './connection.js';
export {
  ConnectSessionKnexError,
  ConfigurationError,
  DatabaseError,
  InvalidSessionError,
  SessionTableMissingError,
  StoreClosedError,
} from './errors.js';
