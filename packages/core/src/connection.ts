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
 * Run `body` with a knex whose every query goes to one connection taken from `knex`'s pool, and give the connection
 * back afterwards. Unlike a transaction, each statement commits on its own: what a session-level lock needs, held on
 * that connection while batches of work run (and commit) on the same connection, so that a pool of one is enough.
 */
export async function withPinnedConnection<T>(knex: Knex, body: (pinned: Knex) => Promise<T>): Promise<T> {
  const client = knex.client as Knex.Client;
  const connection: unknown = await client.acquireConnection();
  try {
    // withUserParams gives a knex on a copy of the client (sharing its pool); the copy hands out this one connection
    // and never returns it to the pool itself, as knex's own transactions do.
    const pinned = knex.withUserParams({ ...(knex.userParams ?? {}) });
    const pinnedClient = pinned.client as Knex.Client;
    pinnedClient.acquireConnection = () => Promise.resolve(connection);
    pinnedClient.releaseConnection = () => Promise.resolve();
    return await body(pinned);
  } finally {
    await client.releaseConnection(connection);
  }
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
