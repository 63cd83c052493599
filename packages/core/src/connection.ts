import type { Knex } from 'knex';

/**
 * Error codes that mean the database could not be reached or the connection to it broke, as Node's sockets and DNS
 * report them: the answer is missing, not wrong.
 */
export const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The `code` of the error a store raises (as the `cause` of a `DatabaseError`) when `operationTimeout` runs out. */
export const OPERATION_TIMEOUT_CODE = 'CSK_OPERATION_TIMEOUT';

/**
 * Whether one error (not its causes) says the database was out of reach, for any driver: a socket or DNS error code,
 * knex's timeout waiting for a pooled connection, or the store's own `operationTimeout`.
 */
export function isCommonConnectionError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || code === OPERATION_TIMEOUT_CODE)) return true;
  // knex raises it when no pooled connection came within acquireConnectionTimeout (and for its own query timeouts).
  return name === 'KnexTimeoutError';
}

/**
 * `error`, its `cause`s and the errors an `AggregateError` gathers (a connection attempt to several addresses), each
 * once, depth first and bounded, so that a cyclic cause chain ends.
 */
export function errorChain(error: unknown): unknown[] {
  const seen = new Set<unknown>();
  const pending = [error];
  while (pending.length > 0 && seen.size < 16) {
    const next = pending.shift();
    if (next === null || next === undefined || seen.has(next)) continue;
    seen.add(next);
    if (typeof next !== 'object') continue;
    const { cause, errors } = next as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) pending.push(cause);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return [...seen];
}

/** A knex whose every query goes to `connection`, which it never gives back to the pool (its owner does). */
function pinnedTo(knex: Knex, connection: unknown): Knex {
  // withUserParams gives a knex on a copy of the client (sharing its pool); the copy hands out this one connection
  // and never returns it to the pool itself, as knex's own transactions do.
  const pinned = knex.withUserParams({ ...(knex.userParams ?? {}) });
  const pinnedClient = pinned.client as Knex.Client;
  pinnedClient.acquireConnection = () => Promise.resolve(connection);
  pinnedClient.releaseConnection = () => Promise.resolve();
  return pinned;
}

/**
 * Open one connection outside the pool, run `statement` on it when one is given, and close it again: whether the
 * database answers at all, which a query through the pool cannot tell when the pool is merely busy. Rejects with the
 * driver's error (or the statement's), or with a `ETIMEDOUT` error when the whole check took longer than `timeoutMs`
 * (a connection that comes later is closed when it does).
 */
export async function checkConnection(
  knex: Knex,
  timeoutMs: number,
  statement?: (connection: Knex) => PromiseLike<unknown>,
): Promise<void> {
  const client = knex.client as Knex.Client;
  const checking = (async () => {
    const connection: unknown = await client.acquireRawConnection();
    let asked = false;
    try {
      if (statement) await statement(pinnedTo(knex, connection));
      asked = true;
    } finally {
      // A close that fails after the statement failed must not hide the statement's error.
      await Promise.resolve(client.destroyRawConnection(connection)).catch((error: unknown) => {
        if (asked) throw error;
      });
    }
  })();
  checking.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`no answer from the database within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
  });
  try {
    await Promise.race([checking, expired]);
  } finally {
    clearTimeout(timer);
  }
}
