/**
 * The row count of a DELETE or UPDATE. knex's own clients resolve a number; a third-party Client class may pass the
 * driver's result object through instead (knex-pglite 0.14 resolves `{ rowCount, affectedRows, … }` for a DELETE).
 */
export function rowCount(result: unknown): number {
  const count =
    result !== null && typeof result === 'object' ? Number((result as { rowCount?: unknown }).rowCount) : Number(result);
  return Number.isFinite(count) ? count : 0;
}
