/** The command's name and its help text (`--help`, and after a usage error). */
import { supportedSchemes } from './connection.js';

export const NAME = 'connect-session-knex';

export const USAGE = `Usage: ${NAME} <command> (--url <url> | --knexfile <path>) [options]

Commands:
  create-table   Create the session table and its index if missing (a no-op when it exists), and check its columns
  prune          Delete expired sessions now, in batches, showing progress; on a terminal it asks first
  stats          Live and expired counts, the earliest expiries, and the largest session's size

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

prune:
  --dry-run                 delete nothing: print how many sessions prune would delete, and their expiries
  -y, --yes                 delete without asking (needed where stdin or stdout is no terminal, as in scripts)

stats:
  --show-ids                also print the ids of the sessions it names, shortened (never whole)

Every command first checks the table's expiry column against --expiry-encoding, and refuses a mismatch.

Output:
  --json                    print the result as JSON on stdout
  --debug                   print the stack of an error
  -h, --help                show this help
  -v, --version             show the version

Exit status: 0 on success, 1 when the command failed, 2 for a usage error.
`;
