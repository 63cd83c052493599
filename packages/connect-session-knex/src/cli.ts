/**
 * The `connect-session-knex` command: create the session table, prune expired sessions, and show the table's
 * statistics, on a database named by a connection URL or a knexfile. Built to `dist/cli.cjs` (the package's `bin`).
 *
 * This file reads the arguments, runs the command they name and sets the exit status; the options, the commands and
 * the error messages are in cli/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { knex as createKnex } from 'knex';
import type { CliIo, Command } from './cli/command.js';
import { UsageError } from './cli/connection.js';
import { createTable } from './cli/create-table.js';
import { knexConfig, knexLog } from './cli/database.js';
import { encodingHint, oneLine, stacks } from './cli/error-message.js';
import { OPTIONS, tableOptions, type Flags } from './cli/flags.js';
import { interactive, prune } from './cli/prune.js';
import { stats } from './cli/stats.js';
import { NAME, USAGE } from './cli/usage.js';

export type { CliIo } from './cli/command.js';
export { shortId } from './cli/stats.js';

const COMMANDS: Readonly<Record<string, Command>> = {
  'create-table': createTable,
  prune,
  stats,
};

function version(): string {
  const file = path.join(__dirname, '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
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
