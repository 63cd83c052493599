import { errorChain } from './connection.js';
import type { DialectAdapter } from './dialect-adapter.js';

/**
 * How many times a statement that lost a conflict runs again before its error reaches the caller. The chance that a
 * write loses every round falls geometrically: on a three-node Galera cluster whose stores all wrote the same 20
 * sessions at once, about one write in five lost its first round.
 */
export const CONFLICT_RETRIES = 8;
/** The first backoff's upper bound in milliseconds; it doubles with each retry, up to {@link CONFLICT_BACKOFF_MAX_MS}. */
export const CONFLICT_BACKOFF_MS = 5;
/** The longest backoff between two rounds, so that the whole retry stays well below a request's patience. */
export const CONFLICT_BACKOFF_MAX_MS = 200;

/**
 * Run `statement` again, after a short random backoff, when it fails because it lost a conflict with a concurrent
 * transaction (a deadlock, a serialization failure, a multi-primary cluster's certification conflict, a lock wait
 * timeout), at most {@link CONFLICT_RETRIES} times: for single statements that commit on their own and may run again
 * unchanged. The backoff is "full jitter" (uniform between 0 and a doubling bound), so that the writers that
 * collided do not collide again in step. `classify` tells a conflict by one error, not its causes (the dialect adapter's
 * `classifyError`); any other error, and the last conflict, reach the caller as they are. `attempt` counts the rounds
 * already run (by a caller that ran the first one itself).
 */
export async function retryConflicts<T>(
  statement: () => PromiseLike<T>,
  classify: (error: unknown) => boolean,
  attempt = 0,
): Promise<T> {
  for (; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (attempt >= CONFLICT_RETRIES || !isConflict(error, classify)) throw error;
      await backoff(attempt);
    }
  }
}

/** The wait before retry `attempt + 1`: uniform between 0 and a bound that doubles with each attempt. */
function backoff(attempt: number): Promise<void> {
  const bound = Math.min(CONFLICT_BACKOFF_MS * 2 ** attempt, CONFLICT_BACKOFF_MAX_MS);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * bound));
}

/** Whether `error` or one of its causes is a conflict as `classify` tells a conflict by one error. */
export function isConflict(error: unknown, classify: (error: unknown) => boolean): boolean {
  return errorChain(error).some(classify);
}

/** What classifies conflicts: a dialect adapter. */
export type ConflictClassifier = Pick<DialectAdapter, 'classifyError'>;

/** Runs one single statement (it commits on its own), again while it loses conflicts (see {@link retryConflicts}). */
export type Retry = <T>(statement: () => PromiseLike<T>) => Promise<T>;

/** Whether one error (not its causes) is a conflict to `adapter`. */
const conflictOf =
  (adapter: ConflictClassifier) =>
  (error: unknown): boolean =>
    adapter.classifyError(error) === 'conflict';

/**
 * The {@link Retry} of a store on `adapter`: a builder is a thenable, so `statement` builds it afresh for every round.
 * The first round runs as it is, with no retry machinery around it (nearly every statement succeeds there).
 */
export function conflictRetry(adapter: ConflictClassifier): Retry {
  const classify = conflictOf(adapter);
  return <T>(statement: () => PromiseLike<T>): Promise<T> => {
    let first: PromiseLike<T>;
    try {
      first = statement();
    } catch (error) {
      first = Promise.reject(error);
    }
    return Promise.resolve(first).then(undefined, async (error: unknown) => {
      if (!isConflict(error, classify)) throw error;
      await backoff(0);
      return retryConflicts(statement, classify, 1);
    });
  };
}

/** Whether `error` or one of its causes lost a conflict as `adapter` classifies them. */
export function lostConflict(adapter: ConflictClassifier, error: unknown): boolean {
  return isConflict(error, conflictOf(adapter));
}
