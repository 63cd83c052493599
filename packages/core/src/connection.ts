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

/**
 * Open one connection outside the pool and close it again: whether the database answers at all, which a query
 * through the pool cannot tell when the pool is merely busy. Rejects with the driver's error, or with a `ETIMEDOUT`
 * error when no connection came within `timeoutMs` (a connection that comes later is closed when it does).
 */
export async function checkConnection(knex: Knex, timeoutMs: number): Promise<void> {
  const client = knex.client as Knex.Client;
  let late = false;
  const opening = Promise.resolve().then(() => client.acquireRawConnection());
  opening.then(
    (connection: unknown) => {
      if (late) void Promise.resolve(client.destroyRawConnection(connection)).catch(() => undefined);
    },
    () => undefined,
  );
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late = true;
      reject(Object.assign(new Error(`no connection to the database within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
  });
  try {
    const connection: unknown = await Promise.race([opening, expired]);
    await client.destroyRawConnection(connection);
  } finally {
    clearTimeout(timer);
  }
}
