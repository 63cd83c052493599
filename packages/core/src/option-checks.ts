import type { Knex } from 'knex';
import type { SessionData } from 'express-session';
import { ConfigurationError } from './errors.js';
import { JSON_SERIALIZER, type Serializer } from './serializer.js';
import {
  DEFAULT_OPERATION_TIMEOUT_MS,
  DEFAULT_PRUNE_MAX_SHARE,
  DEFAULT_TTL_MS,
  EXPIRY_ENCODINGS,
  MAX_TIMER_MS,
  type ExpiryEncoding,
  type ExtraColumn,
} from './store-options.js';
import { LONE_SURROGATE } from './stored-text.js';
import { warnOnce } from './warn-once.js';

/** True when `value` quacks like a knex instance: a function with a `schema` builder and a `client`. */
export function isKnex(value: unknown): value is Knex {
  const candidate = value as { schema?: { hasTable?: unknown }; client?: unknown } | null;
  return (
    typeof value === 'function' && typeof candidate?.schema?.hasTable === 'function' && typeof candidate.client === 'object'
  );
}

export function identifier(option: string, value: unknown, fallback: string | undefined): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(option, `must be a non-empty string, got ${describe(value)}`);
  }
  if (value.includes('\0')) throw new ConfigurationError(option, 'must not contain a NUL character');
  if (value.includes('.')) {
    throw new ConfigurationError(option, `must not contain "." (knex would read "${value}" as schema.table)`);
  }
  if (value.length > 128) throw new ConfigurationError(option, 'must be at most 128 characters');
  // knex quotes every identifier, but reads some text in one before quoting it; each such name is refused here
  // rather than reach SQL as something other than what was written.
  if (value.trim() !== value) {
    throw new ConfigurationError(option, 'must not begin or end with whitespace (knex trims identifiers)');
  }
  if (value.includes('?')) {
    throw new ConfigurationError(option, 'must not contain "?" (knex would read it as a bind parameter, even quoted)');
  }
  if (/ as /i.test(value)) {
    throw new ConfigurationError(option, 'must not contain " as " (knex would read it as an alias)');
  }
  if (value === '*') throw new ConfigurationError(option, 'must not be "*" (knex leaves it unquoted)');
  if (LONE_SURROGATE.test(value)) {
    throw new ConfigurationError(option, 'must be well-formed Unicode (it holds a lone surrogate)');
  }
  return value;
}

/**
 * The table and schema names. A `tableName` of the form `schema.table` is read as knex (and so connect-session-knex
 * 5) read it, warning once; a form that could mean two things is refused with what to write instead.
 */
export function tableAndSchema(
  option: string,
  tableName: unknown,
  schemaName: unknown,
): { tableName: string; schemaName: string | undefined } {
  if (typeof tableName !== 'string' || !tableName.includes('.')) {
    return {
      tableName: identifier(option, tableName, 'sessions')!,
      schemaName: identifier('schemaName', schemaName, undefined),
    };
  }
  const parts = tableName.split('.');
  const spelled = (schema: string, table: string) => `schemaName: ${JSON.stringify(schema)}, ${option}: ${JSON.stringify(table)}`;
  if (schemaName !== undefined) {
    throw new ConfigurationError(
      option,
      `"${tableName}" names a schema, and so does schemaName: pass the schema once, as ${spelled(String(schemaName), parts.at(-1)!)}`,
    );
  }
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new ConfigurationError(
      option,
      `"${tableName}" is ambiguous (only "schema.table" is read as a schema and a table): pass the schema as schemaName and the table name alone as ${option}`,
    );
  }
  const [schema, table] = parts as [string, string];
  const resolved = { tableName: identifier(option, table, undefined)!, schemaName: identifier('schemaName', schema, undefined)! };
  warnOnce(
    'CSK_DOTTED_TABLE_NAME',
    `${option} "${tableName}" is read as ${spelled(schema, table)}; writing it so is clearer`,
  );
  return resolved;
}

export function boolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigurationError(option, `must be a boolean, got ${describe(value)}`);
  return value;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? (Array.isArray(value) ? 'an array' : 'an object') : `a ${typeof value}`;
}

export function extraColumns(value: unknown): ExtraColumn[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError('columns', `must be an object of column names to functions of the session, got ${describe(value)}`);
  }
  return Object.entries(value as Record<string, unknown>).map(([name, fn]) => {
    identifier(`columns.${name}`, name, undefined);
    if (name === 'sid') {
      // A filter's "sid" names the stored id (see destroyWhere): a column of that name would make filters ambiguous.
      throw new ConfigurationError('columns.sid', 'is reserved: a filter\'s "sid" names the session by its stored id; name the column otherwise');
    }
    if (typeof fn !== 'function') {
      throw new ConfigurationError(`columns.${name}`, `must be a function of the session, got ${describe(fn)}`);
    }
    return Object.freeze({ name, value: fn as (session: SessionData) => unknown });
  });
}

export function expiryEncoding(value: unknown): ExpiryEncoding {
  if (value === undefined) return 'timestamp';
  if (!EXPIRY_ENCODINGS.includes(value as ExpiryEncoding)) {
    throw new ConfigurationError(
      'expiryEncoding',
      `must be one of ${EXPIRY_ENCODINGS.map((e) => `'${e}'`).join(', ')}, got ${describe(value)}`,
    );
  }
  return value as ExpiryEncoding;
}

export function serializer(value: unknown): Serializer | undefined {
  if (value === undefined || value === JSON_SERIALIZER) return undefined;
  const candidate = value as Partial<Serializer> | null;
  if (typeof candidate?.stringify !== 'function' || typeof candidate.parse !== 'function') {
    throw new ConfigurationError('serializer', `must be an object with stringify and parse functions, got ${describe(value)}`);
  }
  return candidate as Serializer;
}

export function hashSid(value: unknown): false | true | Buffer {
  if (value === undefined || value === false) return false;
  if (value === true) return true;
  if (typeof value === 'string' && value.length > 0) return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value) && value.length > 0) return Buffer.from(value);
  throw new ConfigurationError(
    'hashSid',
    `must be true (SHA-256), a non-empty secret string or Buffer (HMAC-SHA-256), or false, got ${describe(value)}`,
  );
}

export function corruptSessionPolicy(value: unknown): 'error' | 'delete' {
  if (value === undefined) return 'error';
  if (value !== 'error' && value !== 'delete') {
    throw new ConfigurationError('onCorruptSession', `must be 'error' or 'delete', got ${describe(value)}`);
  }
  return value;
}

export function pruneMaxShare(value: unknown): number {
  if (value === undefined) return DEFAULT_PRUNE_MAX_SHARE;
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new ConfigurationError('pruneMaxShare', `must be a share above 0 and up to 1 (1: no limit), got ${describe(value)}`);
  }
  return value;
}

export function touchAfter(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(
      'touchAfter',
      `must be a number of milliseconds, 0 (touch every time) or more, got ${describe(value)}`,
    );
  }
  return value;
}

export function operationTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_OPERATION_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new ConfigurationError(
      'operationTimeout',
      `must be a number of milliseconds from 0 (no limit) to ${MAX_TIMER_MS}, got ${describe(value)}`,
    );
  }
  return value;
}

export function resolveTtl(ttl: unknown): (session: SessionData) => number {
  if (ttl === undefined) return () => DEFAULT_TTL_MS;
  if (typeof ttl === 'function') return ttl as (session: SessionData) => number;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new ConfigurationError('ttl', `must be a positive number of milliseconds or a function of the session, got ${describe(ttl)}`);
  }
  return () => ttl;
}
