/**
 * The `connect-session-knex` command: create the session table, prune expired sessions, and show the table's
 * statistics, on a database named by a connection URL or a knexfile. Built to `dist/cli.cjs` (the package's `bin`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { knex as createKnex, type Knex } from 'knex';
import {
  checkTableShape,
  ConfigurationError,
  resolveOptions,
  resolveSessionTable,
  type KnexStoreOptions,
  type SessionExpiry,
  type SessionTableOptions,
} from '@csk/core';
import { selectAdapter } from './adapters.js';
import { configFromKnexfile, configFromUrl, supportedSchemes, UsageError } from './cli/connection.js';
import { duration, PruneProgress, type ProgressOutput } from './cli/progress.js';
import { ConnectSessionKnexStore } from './connect-session-knex-store.js';
import { createSessionTable } from './session-table.js';

const NAME = 'connect-session-knex';

const USAGE = `Usage: ${NAME} <command> (--url <url> | --knexfile <path>) [options]

Commands:
  create-table   Create the session table and its index if missing (a no-op when it exists), and check its columns
  prune          Delete expired sessions now, in batches, showing progress
  stats          Live and expired counts, the earliest expiries, and the largest session

Database (one of):
  --url <url>               ${supportedSchemes().join(', ')}
                            (sqlite:///absolute/path), or the path of a SQLite file
  --knexfile <path>         a knexfile (.js, .cjs, .mjs, .json): a config, one per environment, or a function
  --env <name>              the knexfile's environment (default: NODE_ENV, else development)
  --client <name>           the knex client for --url (default: the first installed driver for its scheme)

Table (the store's options of the same meaning):
  --table <name>            tableName (default sessions)
  --schema <name>           schemaName
  --sid-column <name>       sidFieldName (default sid)
  --sess-column <name>      sessFieldName (default sess)
  --expired-column <name>   expiredFieldName (default expired)
  --expiry-encoding <enc>   expiryEncoding: timestamp, epoch-seconds or epoch-ms (default timestamp)
  --column <name>           an extra column of the columns option (repeat for several)
  --jsonb                   create-table on PostgreSQL: the session column as jsonb

Output:
  --json                    print the result as JSON on stdout
  --debug                   print the stack of an error
  -h, --help                show this help
  -v, --version             show the version

Exit status: 0 on success, 1 when the command failed, 2 for a usage error.
`;

const OPTIONS = {
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
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Each table flag and the store option it sets. */
const TABLE_FLAGS = {
  table: 'tableName',
  schema: 'schemaName',
  'sid-column': 'sidFieldName',
  'sess-column': 'sessFieldName',
  'expired-column': 'expiredFieldName',
  'expiry-encoding': 'expiryEncoding',
} as const satisfies Partial<Record<keyof typeof OPTIONS, keyof KnexStoreOptions>>;

/** What the commands write to, and the environment they read. */
export interface CliIo {
  readonly stdout: ProgressOutput;
  readonly stderr: ProgressOutput;
  readonly env: NodeJS.ProcessEnv;
}

interface Context {
  readonly knex: Knex;
  readonly options: SessionTableOptions;
  readonly flags: Flags;
  readonly io: CliIo;
}

/** A command: resolves what to print, as text and as JSON. */
type Command = (context: Context) => Promise<{ text: string; json: unknown }>;

const COMMANDS: Readonly<Record<string, Command>> = {
  'create-table': createTable,
  prune,
  stats,
};

/** The store options the table flags give, checked as the store checks them (a bad value is a usage error). */
function tableOptions(flags: Flags): SessionTableOptions {
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

/** A store that only reads and prunes: it never creates the table, sweeps on its own or takes the fast path. */
function openStore({ knex, options }: Context): ConnectSessionKnexStore {
  return new ConnectSessionKnexStore({ ...options, knex, createTable: false, cleanupInterval: 0, fastPath: false });
}

async function withStore<T>(context: Context, body: (store: ConnectSessionKnexStore) => Promise<T>): Promise<T> {
  const store = openStore(context);
  try {
    await store.ready;
    return await body(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function createTable(context: Context): Promise<{ text: string; json: unknown }> {
  const { knex, options, flags } = context;
  const created = await createSessionTable(knex, { ...options, ...(flags.jsonb && { jsonb: true }) });
  const adapter = selectAdapter(knex);
  const table = resolveSessionTable(knex, adapter, options);
  // A table that was there already may be one made by hand: say now if a store could not use it.
  if (!created) await checkTableShape(knex, adapter, table);
  return {
    text: created
      ? `Created the session table ${table.displayName}.`
      : `The session table ${table.displayName} exists already and has every column the store needs.`,
    json: { table: table.displayName, created },
  };
}

async function prune(context: Context): Promise<{ text: string; json: unknown }> {
  return withStore(context, async (store) => {
    const before = await store.stats({ largest: false });
    const progress = new PruneProgress(context.io.stderr, before!.expired);
    let skipped = false;
    store.on('prune-progress', ({ deleted }: { deleted: number }) => progress.update(deleted));
    store.on('prune', (event: { skipped: boolean }) => {
      skipped = event.skipped;
    });
    const started = performance.now();
    const deleted = (await store.prune()) ?? 0;
    const ms = Math.round(performance.now() - started);
    // The store emits its events on a later tick: let them arrive before reading them.
    await new Promise((resolve) => setImmediate(resolve));
    progress.finish();
    const name = store.table.displayName;
    const text = skipped
      ? `Skipped: another process is pruning ${name} right now (${before!.expired} expired sessions were waiting).`
      : `Deleted ${deleted.toLocaleString('en-US')} expired session${deleted === 1 ? '' : 's'} from ${name} in ${duration(ms)}.`;
    return { text, json: { table: name, expiredBefore: before!.expired, deleted, skipped, ms } };
  });
}

/** An expiry relative to now: `in 3.0 s`, `2 min 05 s ago`. */
function relative(date: Date): string {
  const ms = date.getTime() - Date.now();
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`;
}

function describeExpiry(row: SessionExpiry | null): string {
  if (!row) return '-';
  return row.expires ? `${row.sid}, expires ${row.expires.toISOString()} (${relative(row.expires)})` : `${row.sid}, expiry unreadable`;
}

async function stats(context: Context): Promise<{ text: string; json: unknown }> {
  return withStore(context, async (store) => {
    const s = (await store.stats())!;
    const name = store.table.displayName;
    const rows: Array<[string, string]> = [
      ['table', name],
      ['live', s.live.toLocaleString('en-US')],
      ['expired', s.expired.toLocaleString('en-US')],
      ['oldest live', describeExpiry(s.oldestLive)],
      ['oldest', describeExpiry(s.oldest)],
      ['largest', s.largest ? `${s.largest.sid}, ${s.largest.bytes.toLocaleString('en-US')} bytes` : '-'],
    ];
    const text = rows.map(([key, value]) => `${key.padEnd(12)} ${value}`).join('\n');
    return { text, json: { table: name, ...s } };
  });
}

function withoutPrefix(message: string): string {
  return message.replace(/^\[connect-session-knex\] /, '');
}

/** The error on one line: its message, and where that says nothing (an AggregateError's), its parts or code. */
function oneLine(error: unknown): string {
  const detail = (e: unknown): string => {
    if (!(e instanceof Error)) return String(e);
    const { code, errors } = e as { code?: unknown; errors?: unknown };
    if (e.message) return e.message;
    if (Array.isArray(errors) && errors.length > 0) return errors.map(detail).join('; ');
    return typeof code === 'string' ? code : e.name;
  };
  let message = withoutPrefix(detail(error));
  const cause = (error as { cause?: unknown })?.cause;
  // A DatabaseError whose driver error had no message of its own ends in ': '.
  if (/:\s*$/.test(message) && cause !== undefined) message += detail(cause);
  return message.replace(/\s*\n\s*/g, ' ');
}

/** The stack, and the stack of each cause. */
function stacks(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 10; depth += 1) {
    parts.push(e instanceof Error ? (e.stack ?? String(e)) : String(e));
    e = (e as { cause?: unknown } | null)?.cause;
    if (e !== undefined) parts.push('Caused by:');
  }
  return parts.join('\n');
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
    io.stderr.write(`${NAME}: ${oneLine(error)}\n`);
    if (flags?.debug) io.stderr.write(`${stacks(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
    process.exitCode = code;
    // Everything is closed by now; should a driver still hold the loop open, do not hang the shell.
    setTimeout(() => process.exit(code), 5_000).unref();
  });
}
