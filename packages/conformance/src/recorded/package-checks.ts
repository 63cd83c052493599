import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from '@jest/globals';
import { knex as createKnex } from 'knex';
import { ConfigurationError, type KnexStore, type KnexStoreOptions } from '@csk/core';

/** Registers a test that the package's store class refuses a knex of another dialect, with a ConfigurationError. */
export function itRefusesAnotherDialect(createStore: (options: KnexStoreOptions) => KnexStore): void {
  it('refuses a knex of another dialect', () => {
    // No connection: knex loads no driver, so the dialect needs none installed.
    const pg = createKnex({ client: 'pg' });
    expect(() => createStore({ knex: pg })).toThrow(ConfigurationError);
    return pg.destroy();
  });
}

/** Registers a test that the README in `packageDir` shows each of `statements` exactly as the store sends it. */
export function itShowsInReadme(packageDir: string, statements: readonly string[]): void {
  const readme = readFileSync(path.join(packageDir, 'README.md'), 'utf8');
  it('shows the DDL and the MERGE exactly as the store sends them', () => {
    for (const sql of statements) expect(readme).toContain(sql);
  });
}

/** Puts the process time zone (`TZ`) back as it was after each test of the calling describe block. */
export function restoreTimeZoneAfterEach(): void {
  const tz = process.env.TZ;
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });
}
