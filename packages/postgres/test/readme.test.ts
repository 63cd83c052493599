import path from 'node:path';
import { itShowsTableInReadme } from '@csk/conformance/recorded/package-checks';
import { createSessionTable } from '@csk/postgres';

describe('the README', () => {
  itShowsTableInReadme(path.resolve(__dirname, '..'), 'pg', (knex) => createSessionTable(knex));
});
