import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from '@jest/globals';
import { knex as createKnex, type Knex } from 'knex';
import { recordingKnex } from '../scenarios/recording-knex.js';
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

/**
 * Registers a test that the README in `packageDir` shows, word for word, every statement `createTable` sends to create
 * the session table with the default options, as the real knex client `client` compiles it (the table lookup before
 * them is not shown).
 */
export function itShowsTableInReadme(packageDir: string, client: string, createTable: (knex: Knex) => Promise<unknown>): void {
  it('shows the DDL of the default table exactly as the store sends it', async () => {
    const readme = readFileSync(path.join(packageDir, 'README.md'), 'utf8');
    const { knex, queries } = recordingKnex(client);
    try {
      await createTable(knex);
    } finally {
      await knex.destroy();
    }
    const ddl = queries.map((query) => query.sql).filter((sql) => /^(create|alter) /i.test(sql));
    expect(ddl.length).toBeGreaterThanOrEqual(2);
    for (const sql of ddl) expect(readme).toContain(sql);
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
