// Hostile table, schema and column names: the canary they must leave alone, and the names refused at construction
// (the cases of hostile tables, schemas and the identifier limit are in the identifiers-*.ts modules beside it).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SuiteContext } from '../target.js';
import { errorName, randomId } from '../util.js';
import { identifierLimitCases } from './identifiers-limit.js';
import { dottedTableNameCases, hostileSchemaCases } from './identifiers-schemas.js';
import { hostileTableCases } from './identifiers-tables.js';

/**
 * Names knex would not keep as written (it trims, reads "?" as a parameter, " as " as an alias, "." as a schema;
 * a tableName of one dot is read as schema.table, see dottedTableNameCases).
 */
const REFUSED_NAMES: Array<[string, string]> = [
  ['a NUL', 'ses\u0000sions'],
  ['two dots', 'a.b.sessions'],
  ['a question mark', 'sess?ions'],
  ['" as "', 'sessions as s'],
  ['" AS " in capitals', 'sessions AS s'],
  ['a leading space', ' sessions'],
  ['a trailing tab', 'sessions\t'],
  ['"*"', '*'],
  ['a lone surrogate', 'sessions\ud800'],
  ['nothing but spaces', '   '],
  ['129 characters', 's'.repeat(129)],
];

/** Table and column names reach SQL through knex's quoting only: hostile ones work and touch nothing else. */
export function identifierCases(ctx: SuiteContext): void {
  const suffix = randomId();
  // Short, so that a name holding it stays inside every engine's identifier limit (MySQL: 64, with knex's index suffix).
  const canary = `csk_canary_${suffix}`;
  // Each would drop the canary if any part of the store spliced it into SQL text, whichever quote the engine uses.
  const injection = `;DROP TABLE ${canary};--`;

  describe('hostile table and column names', () => {
    // Registered before the scopes' hooks, so the canary exists before any hostile table is created.
    beforeAll(async () => {
      await ctx.knex.schema.createTable(canary, (table) => {
        table.string('name', 64).primary();
      });
      await ctx.knex.table(canary).insert({ name: 'untouched' });
    });
    afterAll(async () => {
      await ctx.knex.schema.dropTableIfExists(canary);
    });

    hostileTableCases(ctx, 'quotes, spaces and a semicolon', `We"ird 'Tab; le_${suffix}`, 's"id');
    hostileTableCases(
      ctx,
      'every quote character and a DROP TABLE',
      `Mixed"\`]' ${injection}`,
      `Sid\`]"' ${injection}`,
    );
    hostileSchemaCases(ctx, `Sch"em\`a]; ${suffix}`, `Tab"le\`]' ${injection}`);
    dottedTableNameCases(ctx, `csk_dot_${suffix}`, 'sessions');

    describe.each(['tableName', 'schemaName', 'sidFieldName'] as const)('%s', (option) => {
      it.each(REFUSED_NAMES)('holding %s is refused at construction with a ConfigurationError', (_title, name) => {
        let thrown: unknown;
        try {
          ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, [option]: name });
        } catch (error) {
          thrown = error;
        }
        expect(errorName(thrown)).toBe('ConfigurationError');
        expect((thrown as { option?: unknown }).option).toBe(option);
      });
    });

    identifierLimitCases(ctx, `csk_limit_${suffix}`);

    it('left every other table alone', async () => {
      expect(await ctx.knex.table(canary).select('name')).toEqual([{ name: 'untouched' }]);
    });
  });
}
