import type { Knex } from 'knex';
import { ConfigurationError } from './errors.js';
import { normalise } from './legacy-options.js';
import {
  boolean,
  corruptSessionPolicy,
  describe,
  expiryEncoding,
  extraColumns,
  hashSid,
  identifier,
  isKnex,
  operationTimeout,
  resolveTtl,
  serializer,
  pruneMaxShare,
  tableAndSchema,
  touchAfter,
} from './option-checks.js';
import { DEFAULT_CLEANUP_INTERVAL_MS, MAX_TIMER_MS, type ResolvedOptions } from './store-options.js';
import { warnOnce } from './warn-once.js';

const KNOWN_KEYS = new Set([
  'knex',
  'tableName',
  'schemaName',
  'sidFieldName',
  'createTable',
  'cleanupInterval',
  'onDbCleanupError',
  'pruneMaxShare',
  'ttl',
  'disableTouch',
  'touchAfter',
  'fastPath',
  'coalesce',
  'operationTimeout',
  'onCorruptSession',
  'columns',
  'sessFieldName',
  'expiredFieldName',
  'expiryEncoding',
  'serializer',
  'hashSid',
]);

/** Validate the constructor's argument and fill in the defaults. Throws {@link ConfigurationError}. */
export function resolveOptions(input: unknown): ResolvedOptions {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigurationError('options', `must be an object, got ${describe(input)}`);
  }
  const { options, spelling } = normalise(input as Record<string, unknown>);

  for (const key of Object.keys(options)) {
    if (KNOWN_KEYS.has(key)) continue;
    if (options.knex === undefined && isKnex(options[key])) {
      // The classic typo ({ db: knex }): say where the instance should go rather than fall back to a default database.
      throw new ConfigurationError('knex', `is missing, but "${key}" holds a knex instance: pass it as "knex"`);
    }
    warnOnce(`CSK_UNKNOWN_OPTION_${key}`, `unknown option "${key}" is ignored`);
  }

  if (options.knex !== undefined && !isKnex(options.knex)) {
    throw new ConfigurationError('knex', `must be a knex instance (the result of knex(config)), got ${describe(options.knex)}`);
  }

  const cleanupInterval = options.cleanupInterval === undefined ? DEFAULT_CLEANUP_INTERVAL_MS : options.cleanupInterval;
  if (typeof cleanupInterval !== 'number' || Number.isNaN(cleanupInterval) || cleanupInterval > MAX_TIMER_MS) {
    throw new ConfigurationError(
      spelling('cleanupInterval'),
      `must be a number of milliseconds up to ${MAX_TIMER_MS} (0 disables the prune), got ${describe(cleanupInterval)}`,
    );
  }

  const onDbCleanupError = options.onDbCleanupError === undefined ? logPruneError : options.onDbCleanupError;
  if (typeof onDbCleanupError !== 'function') {
    throw new ConfigurationError('onDbCleanupError', `must be a function, got ${describe(onDbCleanupError)}`);
  }

  const sidFieldName = identifier(spelling('sidFieldName'), options.sidFieldName, 'sid')!;
  const sessFieldName = identifier('sessFieldName', options.sessFieldName, 'sess')!;
  const expiredFieldName = identifier('expiredFieldName', options.expiredFieldName, 'expired')!;
  const columns = extraColumns(options.columns);
  const seen = new Map<string, string>();
  for (const [option, name] of [
    [spelling('sidFieldName'), sidFieldName],
    ['sessFieldName', sessFieldName],
    ['expiredFieldName', expiredFieldName],
    ...columns.map((column): [string, string] => [`columns.${column.name}`, column.name]),
  ] as Array<[string, string]>) {
    // Engines differ in whether column names are case-sensitive: names equal but for case are refused everywhere.
    const other = seen.get(name.toLowerCase());
    if (other) throw new ConfigurationError(option, `names the same column as ${other} ("${name}")`);
    seen.set(name.toLowerCase(), option);
  }

  return Object.freeze({
    knex: options.knex as Knex | undefined,
    ...tableAndSchema(spelling('tableName'), options.tableName, options.schemaName),
    sidFieldName,
    createTable: boolean(spelling('createTable'), options.createTable, true),
    cleanupInterval: Math.max(0, cleanupInterval),
    onDbCleanupError: onDbCleanupError as (error: unknown) => void,
    pruneMaxShare: pruneMaxShare(options.pruneMaxShare),
    ttl: resolveTtl(options.ttl),
    disableTouch: boolean('disableTouch', options.disableTouch, false),
    touchAfter: touchAfter(options.touchAfter),
    fastPath: boolean('fastPath', options.fastPath, true),
    coalesce: options.coalesce === undefined ? undefined : boolean('coalesce', options.coalesce, false),
    operationTimeout: operationTimeout(options.operationTimeout),
    onCorruptSession: corruptSessionPolicy(options.onCorruptSession),
    columns,
    sessFieldName,
    expiredFieldName,
    expiryEncoding: expiryEncoding(options.expiryEncoding),
    serializer: serializer(options.serializer),
    hashSid: hashSid(options.hashSid),
  });
}

function logPruneError(error: unknown): void {
  console.error(error);
}
