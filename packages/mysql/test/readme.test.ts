import path from 'node:path';
import { itShowsTableInReadme } from '@csk/conformance/recorded/package-checks';
import { createSessionTable } from '@csk/mysql';

describe('the README', () => {
  itShowsTableInReadme(path.resolve(__dirname, '..'), 'mysql2', (knex) => createSessionTable(knex));
});
