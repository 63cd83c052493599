/** The `create-table` command: create the session table if missing, or check the columns of the one there. */
import { checkTableShape, resolveSessionTable } from '@csk/core';
import { selectAdapter } from '../adapters.js';
import { createSessionTable } from '../session-table.js';
import type { Context } from './command.js';

export async function createTable(context: Context): Promise<{ text: string; json: unknown }> {
  const { knex, options, flags } = context;
  const created = await createSessionTable(knex, { ...options, ...(flags.jsonb && { jsonb: true }) });
  const adapter = selectAdapter(knex);
  const table = resolveSessionTable(knex, adapter, options);
  // A table that was there already may be one made by hand: say now if a store could not use it.
  if (!created) await checkTableShape(knex, adapter, table);
  return {
    text: created
      ? `Created the session table ${table.displayName}.`
      : `The session table ${table.displayName} exists already and has every column the store needs.`,
    json: { table: table.displayName, created },
  };
}
