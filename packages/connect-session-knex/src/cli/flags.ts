/** The command line's options (as `parseArgs` takes them), and the store options the table flags give. */
import type { parseArgs } from 'node:util';
import { ConfigurationError, resolveOptions, type KnexStoreOptions, type SessionTableOptions } from '@csk/core';
import { UsageError } from './connection.js';
import { withoutPrefix } from './error-message.js';

export const OPTIONS = {
  url: { type: 'string' },
  knexfile: { type: 'string' },
  env: { type: 'string' },
  client: { type: 'string' },
  table: { type: 'string' },
  schema: { type: 'string' },
  'sid-column': { type: 'string' },
  'sess-column': { type: 'string' },
  'expired-column': { type: 'string' },
  'expiry-encoding': { type: 'string' },
  column: { type: 'string', multiple: true },
  jsonb: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'show-ids': { type: 'boolean' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Each table flag and the store option it sets. */
const TABLE_FLAGS = {
  table: 'tableName',
  schema: 'schemaName',
  'sid-column': 'sidFieldName',
  'sess-column': 'sessFieldName',
  'expired-column': 'expiredFieldName',
  'expiry-encoding': 'expiryEncoding',
} as const satisfies Partial<Record<keyof typeof OPTIONS, keyof KnexStoreOptions>>;

/** The store options the table flags give, checked as the store checks them (a bad value is a usage error). */
export function tableOptions(flags: Flags): SessionTableOptions {
  const options: Record<string, unknown> = {};
  for (const [flag, option] of Object.entries(TABLE_FLAGS)) {
    const value = flags[flag as keyof typeof TABLE_FLAGS];
    if (value !== undefined) options[option] = value;
  }
  if (flags.column) {
    // The CLI never writes sessions: the columns only need their names, for create-table and the shape check.
    options.columns = Object.fromEntries(flags.column.map((name) => [name, () => undefined]));
  }
  try {
    resolveOptions(options);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    const flag = Object.entries(TABLE_FLAGS).find(([, option]) => option === error.option)?.[0];
    const name = flag ? `--${flag}` : error.option.startsWith('columns.') ? '--column' : error.option;
    throw new UsageError(`${name} ${withoutPrefix(error.message).replace(/^option "[^"]*" /, '')}`);
  }
  return options as SessionTableOptions;
}
