import path from 'node:path';
import { itShowsTableInReadme } from '@csk/conformance/recorded/package-checks';
import { createSessionTable } from '@csk/sqlite';

describe('the README', () => {
  itShowsTableInReadme(path.resolve(__dirname, '..'), 'better-sqlite3', (knex) => createSessionTable(knex));
});
