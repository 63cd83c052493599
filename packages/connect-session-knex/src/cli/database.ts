/** The knex the command runs on: its config, from --url or --knexfile, and where knex's own warnings go. */
import type { Knex } from 'knex';
import type { CliIo } from './command.js';
import { configFromKnexfile, configFromUrl, UsageError } from './connection.js';
import type { Flags } from './flags.js';

/**
 * knex's own warnings (a failed connection attempt, say) on stderr, and only with --debug: by default they would go to
 * stdout, where they would break --json, and the error the command fails with says the same in one line.
 */
export function knexLog(io: CliIo, debug: boolean): Knex.Config['log'] {
  const write = (message: unknown): void => {
    if (debug) io.stderr.write(`knex: ${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  };
  return { warn: write, error: write, deprecate: write, debug: write };
}

/** The knex config the flags name. */
export async function knexConfig(flags: Flags, command: string, io: CliIo): Promise<Knex.Config> {
  if (flags.url !== undefined && flags.knexfile !== undefined) throw new UsageError('give --url or --knexfile, not both');
  if (flags.url !== undefined) {
    // Only create-table may bring a new SQLite file into being.
    return configFromUrl(flags.url, { client: flags.client, mustExist: command !== 'create-table' });
  }
  if (flags.knexfile !== undefined) {
    if (flags.client !== undefined) throw new UsageError('--client applies to --url only (the knexfile names its client)');
    return configFromKnexfile(flags.knexfile, flags.env ?? (io.env.NODE_ENV || 'development'));
  }
  throw new UsageError('give the database as --url <url> or --knexfile <path>');
}
