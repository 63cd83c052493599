/** A knex config from a connection URL (scheme, driver, options in its query) or a knexfile; the error for a bad one. */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

/** A problem with what the user typed (exit code 2, with the usage), as opposed to a failure while running. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** How a URL scheme becomes a knex config. */
interface Scheme {
  /** The knex clients that serve it, by preference: the first whose driver is installed is used. */
  readonly clients: readonly string[];
  /** The knex `connection` for the URL. */
  connection(url: URL, text: string): Knex.StaticConnectionConfig | string;
}

const decoded = (value: string): string => decodeURIComponent(value);

/**
 * host, port, user, password and database, as the MySQL-family drivers take them, and utf8mb4 (the `mysql` driver
 * would talk utf8mb3, which turns an emoji in a sid into "?").
 */
function serverConnection(defaultPort: number) {
  return (url: URL): Knex.StaticConnectionConfig =>
    ({
      host: url.hostname,
      port: Number(url.port || defaultPort),
      user: decoded(url.username),
      password: decoded(url.password),
      database: decoded(url.pathname.slice(1)),
      charset: 'utf8mb4',
    }) as Knex.StaticConnectionConfig;
}

/** A yes/no query parameter (`?encrypt=false`), or `undefined` when absent. */
function flag(url: URL, name: string): boolean | undefined {
  const value = url.searchParams.get(name);
  return value === null ? undefined : !/^(0|false|no|off)$/i.test(value);
}

const postgres: Scheme = { clients: ['pg'], connection: (_url, text) => text };

/**
 * Each URL scheme the CLI takes, by the `protocol` of a WHATWG URL. node-postgres reads its URL itself (with `ssl`,
 * `sslmode` and the rest); the others are split into the connection object their driver takes. A plain path (or
 * `sqlite:` with one) is a SQLite file.
 */
const SCHEMES: Readonly<Record<string, Scheme>> = {
  'postgres:': postgres,
  'postgresql:': postgres,
  'mysql:': { clients: ['mysql2', 'mysql', 'mariadb'], connection: serverConnection(3306) },
  'mariadb:': { clients: ['mariadb', 'mysql2', 'mysql'], connection: serverConnection(3306) },
  'mssql:': {
    clients: ['mssql'],
    connection: (url) => ({
      server: url.hostname,
      port: Number(url.port || 1433),
      user: decoded(url.username),
      password: decoded(url.password),
      database: decoded(url.pathname.slice(1)) || undefined,
      options: {
        ...(flag(url, 'encrypt') !== undefined && { encrypt: flag(url, 'encrypt') }),
        ...(flag(url, 'trustServerCertificate') !== undefined && {
          trustServerCertificate: flag(url, 'trustServerCertificate'),
        }),
      },
    }) as Knex.StaticConnectionConfig,
  },
  'oracle:': {
    clients: ['oracledb'],
    connection: (url) =>
      ({
        user: decoded(url.username),
        password: decoded(url.password),
        connectString: `${url.hostname}:${url.port || 1521}/${decoded(url.pathname.slice(1))}`,
      }) as Knex.StaticConnectionConfig,
  },
  'sqlite:': { clients: ['sqlite3', 'better-sqlite3'], connection: (url) => ({ filename: sqlitePath(url) }) },
};

/** The file of `sqlite:///abs/path`, `sqlite://./rel/path` or `sqlite:rel/path`. */
function sqlitePath(url: URL): string {
  const rest = decoded(url.href.slice('sqlite:'.length));
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

/** The URL schemes the CLI takes, for messages. */
export function supportedSchemes(): string[] {
  return Object.keys(SCHEMES).map((scheme) => `${scheme}//`);
}

/** Whether knex can load `driver` (it requires drivers from its own folder). */
function installed(driver: string): boolean {
  try {
    createRequire(require.resolve('knex')).resolve(driver);
    return true;
  } catch {
    return false;
  }
}

/** The driver package each knex client loads. */
const DRIVERS: Readonly<Record<string, string>> = {
  pg: 'pg',
  mysql2: 'mysql2',
  mysql: 'mysql',
  mariadb: 'mariadb',
  mssql: 'tedious',
  oracledb: 'oracledb',
  sqlite3: 'sqlite3',
  'better-sqlite3': 'better-sqlite3',
};

/**
 * A URL parsed as WHATWG does, or `undefined` for text that is no URL (a path, then) or a Windows drive letter. Every
 * `%`-escape in it must be well formed: the drivers decode the user, password and database, and would fail later, or
 * differently.
 */
function parseUrl(text: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(text) || /^[a-z]:[\\/]/i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(redact(text))} is not a valid URL`);
  }
  for (const [part, value] of [
    ['user name', url.username],
    ['password', url.password],
    ['path', url.pathname],
  ] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      throw new UsageError(`--url has a malformed %-escape in its ${part} (write "%" itself as %25)`);
    }
  }
  return url;
}

/**
 * The URL without its credentials, for messages, whatever they contain (a "/", "@" or ":" included): everything
 * between the scheme's `//` and the last `@` becomes `***`. With no `@`, whatever follows a `:` after the host (a
 * password typed without its host, as likely as a port) becomes `***` too.
 */
export function redact(text: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@/is.exec(text);
  if (match) return `${match[1]}***@${text.slice(match[0].length)}`;
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/]*:)[^/]*/i, '$1***');
}

/**
 * The knex config for `--url`: the client from the scheme (the first of its clients whose driver is installed, or
 * `client` when given), and the connection from the rest of the URL. `mustExist` refuses a SQLite file that does not
 * exist, which SQLite would otherwise create empty.
 */
export function configFromUrl(text: string, options: { client?: string; mustExist: boolean }): Knex.Config {
  const url = parseUrl(text);
  const scheme = url ? SCHEMES[url.protocol] : SCHEMES['sqlite:'];
  if (!scheme) {
    throw new UsageError(
      `--url has the unsupported scheme "${url!.protocol}//": use ${supportedSchemes().join(', ')} or a SQLite file path`,
    );
  }
  const connection = url ? scheme.connection(url, text) : { filename: text };
  const filename = typeof connection === 'object' ? (connection as { filename?: unknown }).filename : undefined;
  if (typeof filename === 'string') {
    if (filename === '') throw new UsageError('--url names no SQLite file (use sqlite:///path/to/file or a file path)');
    if (options.mustExist && filename !== ':memory:' && !fs.existsSync(filename)) {
      throw new Error(`the SQLite file ${filename} does not exist`);
    }
  }
  const client = options.client ?? scheme.clients.find((name) => installed(DRIVERS[name] ?? name)) ?? scheme.clients[0]!;
  return {
    client,
    connection,
    ...(typeof filename === 'string' && { useNullAsDefault: true }),
    // A CLI run should fail soon on a server that does not answer, not after knex's 60 s default.
    acquireConnectionTimeout: 15_000,
    pool: { min: 0, max: 2 },
  };
}

/** What a knexfile may export: a config, a config per environment, or a function (maybe async) returning either. */
type KnexfileExport = Knex.Config | Record<string, Knex.Config> | (() => unknown);

/** Load a module whatever its format: `import()` kept as such (a bundler would turn it into `require`). */
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

async function loadKnexfile(file: string): Promise<unknown> {
  if (path.extname(file) === '.json') return JSON.parse(fs.readFileSync(file, 'utf8'));
  const namespace = (await importModule(pathToFileURL(file).href)) as { default?: unknown };
  return namespace.default ?? namespace;
}

/**
 * The knex config of a knexfile (`.js`, `.cjs`, `.mjs` or `.json`) for environment `env`, as knex's own CLI reads it.
 * Like knex's CLI, it then works from the knexfile's folder, so that relative paths in the file (a SQLite filename)
 * mean the same as under `knex migrate`.
 */
export async function configFromKnexfile(knexfile: string, env: string): Promise<Knex.Config> {
  const file = path.resolve(knexfile);
  if (!fs.existsSync(file)) throw new UsageError(`--knexfile ${knexfile} does not exist`);
  let exported = (await loadKnexfile(file)) as KnexfileExport;
  if (typeof exported === 'function') exported = (await exported()) as KnexfileExport;
  if (exported === null || typeof exported !== 'object') {
    throw new Error(`the knexfile ${knexfile} exports no configuration object`);
  }
  let config = exported as Record<string, unknown>;
  if (!('client' in config)) {
    const environment = config[env];
    if (environment === null || typeof environment !== 'object') {
      const names = Object.keys(config).filter((key) => typeof config[key] === 'object' && config[key] !== null);
      throw new Error(
        `the knexfile ${knexfile} has no "${env}" environment` +
          (names.length > 0 ? ` (it has ${names.join(', ')}): pass --env` : ' and no client'),
      );
    }
    config = environment as Record<string, unknown>;
  }
  process.chdir(path.dirname(file));
  return config as Knex.Config;
}
