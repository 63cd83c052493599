import { describe, test } from '@jest/globals';

/** True when running in CI, where a live suite that cannot run must fail rather than skip. */
export function inCi(): boolean {
  const ci = (process.env.CI ?? '').toLowerCase();
  return ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * Describe a suite that needs the live database named by the environment variable `variable` (a connection URL such
 * as `CSK_MYSQL_URL=mysql://root@127.0.0.1:3306/test`). Without it the suite is skipped with a message saying how to
 * run it, except in CI (`CI=true`), where it fails instead, so that a CI run can never pass on a skipped database;
 * `requiredInCi: false` is for a database CI does not have (yet).
 */
export function describeLive(
  variable: string,
  title: string,
  body: (url: string) => void,
  { requiredInCi = true }: { requiredInCi?: boolean } = {},
): void {
  const url = process.env[variable];
  if (url) {
    describe(title, () => body(url));
    return;
  }
  if (requiredInCi && inCi()) {
    describe(title, () => {
      test(`runs against ${variable}`, () => {
        throw new Error(`${variable} is not set: CI must run the live ${title} suite, not skip it`);
      });
    });
    return;
  }
  process.stderr.write(`[csk] skipped the live ${title} suite: set ${variable} to run it\n`);
  describe(title, () => {
    test.skip(`skipped: ${variable} is not set`, () => undefined);
  });
}

/** The parts of a server URL (`scheme://user:password@host:port/database`), decoded. */
export interface ServerAddress {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The URL's path without its slash: empty when it names none. */
  database: string;
}

/** Split a server URL into its decoded parts, with `defaultPort` when it names none. */
export function serverAddress(url: string, defaultPort: number): ServerAddress {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || defaultPort),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

/** Split a `mysql://user:password@host:port/database` URL into the connection object every MySQL driver takes. */
export function mysqlConnection(url: string): ServerAddress {
  return serverAddress(url, 3306);
}
