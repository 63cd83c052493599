/**
 * The `connect-session-knex` command: create the session table, prune expired sessions, and show the table's
 * statistics, on a database named by a connection URL or a knexfile. Built to `dist/cli.cjs` (the package's `bin`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { knex as createKnex, type Knex } from 'knex';
import type { SessionExpiry } from '@csk/core';
import { withStore, type CliIo, type Command, type Context } from './cli/command.js';
import { configFromKnexfile, configFromUrl, UsageError } from './cli/connection.js';
import { createTable } from './cli/create-table.js';
import { encodingHint, oneLine, stacks } from './cli/error-message.js';
import { OPTIONS, tableOptions, type Flags } from './cli/flags.js';
import { duration } from './cli/progress.js';
import { interactive, prune } from './cli/prune.js';
import { NAME, USAGE } from './cli/usage.js';

export type { CliIo } from './cli/command.js';

const COMMANDS: Readonly<Record<string, Command>> = {
  'create-table': createTable,
  prune,
  stats,
};

/** An expiry relative to now: `in 3.0 s`, `2 min 05 s ago`. */
function relative(date: Date): string {
  const ms = date.getTime() - Date.now();
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`;
}

/**
 * A session id as `stats --show-ids` prints it: its first characters (at most 8, and never more than half of it) and
 * an ellipsis, enough to tell sessions apart and too little to use one.
 */
export function shortId(sid: string): string {
  return `${sid.slice(0, Math.min(8, Math.floor(sid.length / 2)))}…`;
}

function describeExpiry(row: SessionExpiry | null, showIds: boolean): string {
  if (!row) return '-';
  const id = showIds ? `${shortId(row.sid)}, ` : '';
  return row.expires ? `${id}expires ${row.expires.toISOString()} (${relative(row.expires)})` : `${id}expiry unreadable`;
}

async function stats(context: Context): Promise<{ text: string; json: unknown }> {
  return withStore(context, async (store) => {
    const s = (await store.stats())!;
    const showIds = context.flags['show-ids'] === true;
    // Live session ids are credentials: only on request, and then shortened.
    const named = <T extends { sid: string }>(row: T | null | undefined): Omit<T, 'sid'> | T | null => {
      if (!row) return null;
      const { sid, ...rest } = row;
      return showIds ? { ...row, sid: shortId(sid) } : rest;
    };
    const name = store.table.displayName;
    const largest = s.largest ? `${showIds ? `${shortId(s.largest.sid)}, ` : ''}${s.largest.bytes.toLocaleString('en-US')} bytes` : '-';
    const rows: Array<[string, string]> = [
      ['table', name],
      ['live', s.live.toLocaleString('en-US')],
      ['expired', s.expired.toLocaleString('en-US')],
      ['oldest live', describeExpiry(s.oldestLive, showIds)],
      ['oldest', describeExpiry(s.oldest, showIds)],
      ['largest', largest],
    ];
    const text = rows.map(([key, value]) => `${key.padEnd(12)} ${value}`).join('\n');
    const json = { ...s, oldestLive: named(s.oldestLive), oldest: named(s.oldest), largest: named(s.largest) };
    return { text, json: { table: name, ...json } };
  });
}

function version(): string {
  const file = path.join(__dirname, '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * knex's own warnings (a failed connection attempt, say) on stderr, and only with --debug: by default they would go to
 * stdout, where they would break --json, and the error the command fails with says the same in one line.
 */
function knexLog(io: CliIo, debug: boolean): Knex.Config['log'] {
  const write = (message: unknown): void => {
    if (debug) io.stderr.write(`knex: ${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  };
  return { warn: write, error: write, deprecate: write, debug: write };
}

/** The knex config the flags name. */
async function knexConfig(flags: Flags, command: string, io: CliIo): Promise<Knex.Config> {
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

/** Run the CLI on `argv` (the arguments after the script). Resolves the exit status. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let flags: Flags | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    flags = parsed.values;
    if (flags.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (flags.version) {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    const [command, ...extra] = parsed.positionals;
    if (command === undefined) throw new UsageError('no command given');
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!run) throw new UsageError(`unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (flags.jsonb && command !== 'create-table') throw new UsageError('--jsonb applies to create-table only');
    for (const [flag, only] of [['dry-run', 'prune'], ['yes', 'prune'], ['show-ids', 'stats']] as const) {
      if (flags[flag] && command !== only) throw new UsageError(`--${flag} applies to ${only} only`);
    }
    if (command === 'prune' && !flags['dry-run'] && !flags.yes && !interactive(io)) {
      // Unattended, nobody can be asked: a script says --yes, so that deleting is always someone's decision.
      throw new UsageError('prune deletes sessions: pass --yes to run it without a terminal, or --dry-run to see what it would delete');
    }
    if (flags.env !== undefined && flags.knexfile === undefined) throw new UsageError('--env applies to --knexfile only');
    const options = tableOptions(flags);
    const config = await knexConfig(flags, command, io);
    const knex = createKnex(config.log ? config : { ...config, log: knexLog(io, flags.debug === true) });
    try {
      const result = await run({ knex, options, flags, io });
      io.stdout.write(flags.json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`);
      return 0;
    } finally {
      await knex.destroy().catch(() => undefined);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${NAME}: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`${NAME}: ${oneLine(error)}${encodingHint(error)}\n`);
    if (flags?.debug) io.stderr.write(`${stacks(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin };
  void main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
    // Everything is closed by now; should a driver still hold the loop open, do not hang the shell.
    setTimeout(() => process.exit(code), 5_000).unref();
  });
}
