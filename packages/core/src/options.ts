/**
 * The store's options, under the name every other module imports them by: their types and defaults
 * (store-options), and resolveOptions, which checks them (resolve-options, option-checks, legacy-options).
 */
export {
  DEFAULT_TTL_MS,
  DEFAULT_CLEANUP_INTERVAL_MS,
  DEFAULT_PRUNE_MAX_SHARE,
  DEFAULT_OPERATION_TIMEOUT_MS,
  type KnexStoreOptions,
  type ResolvedOptions,
  type ExpiryEncoding,
  type ExtraColumn,
} from './store-options.js';
export { isKnex } from './option-checks.js';
export { resolveOptions } from './resolve-options.js';
