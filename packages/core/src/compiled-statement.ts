import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { NativeStatement } from './native-executor.js';

/** A compiled statement and where each of its bound values comes from. */
export interface CompiledStatement extends NativeStatement {
  /** Per placeholder: the index of the argument bound there, or a constant knex bound itself. */
  readonly slots: ReadonlyArray<number | { readonly constant: unknown }>;
}

/** A stand-in bound in place of argument `index` while compiling; no session id or value can contain a NUL. */
export const placeholder = (index: number): string => `\u0000csk:${index}\u0000`;
const PLACEHOLDER = /^\u0000csk:(\d+)\u0000$/;

/**
 * Compile `query` (built with {@link placeholder}s for its `arity` arguments) into native SQL and the order of its
 * bindings. `undefined` when knex made anything else of it: several statements, a placeholder inside the SQL text,
 * or an argument that appears nowhere. The caller then keeps to the knex path.
 */
export function compile(kind: string, query: Knex.QueryBuilder | Knex.Raw, arity: number): CompiledStatement | undefined {
  const compiled = query.toSQL() as Knex.Sql | Knex.Sql[];
  if (Array.isArray(compiled) || typeof compiled?.toNative !== 'function') return undefined;
  const { sql, bindings } = compiled.toNative();
  if (typeof sql !== 'string' || sql.includes('\u0000')) return undefined;
  const used = new Set<number>();
  const slots: Array<number | { constant: unknown }> = [];
  for (const binding of bindings) {
    const match = typeof binding === 'string' ? PLACEHOLDER.exec(binding) : null;
    if (match) {
      const index = Number(match[1]);
      used.add(index);
      slots.push(index);
    } else if (typeof binding === 'string' && binding.includes('\u0000')) {
      return undefined;
    } else {
      slots.push({ constant: binding });
    }
  }
  if (used.size !== arity) return undefined;
  const hash = createHash('sha256').update(sql).digest('hex').slice(0, 16);
  return { name: `csk_${kind}_${hash}`, sql, slots };
}

/** The values of `statement`'s placeholders, in binding order, for the arguments `args`. */
export function valuesOf(statement: CompiledStatement, args: readonly unknown[]): unknown[] {
  const values = new Array<unknown>(statement.slots.length);
  for (let i = 0; i < values.length; i++) {
    const slot = statement.slots[i]!;
    values[i] = typeof slot === 'number' ? args[slot] : slot.constant;
  }
  return values;
}
