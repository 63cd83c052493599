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
 * `classifyError`); any other error, and the last conflict, reach the caller as they are.
 */
export async function retryConflicts<T>(statement: () => Promise<T>, classify: (error: unknown) => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (attempt >= CONFLICT_RETRIES || !isConflict(error, classify)) throw error;
      const bound = Math.min(CONFLICT_BACKOFF_MS * 2 ** attempt, CONFLICT_BACKOFF_MAX_MS);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * bound));
    }
  }
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

/** The {@link Retry} of a store on `adapter`: a builder is a thenable, so `statement` builds it afresh for every round. */
export function conflictRetry(adapter: ConflictClassifier): Retry {
  const classify = conflictOf(adapter);
  return <T>(statement: () => PromiseLike<T>): Promise<T> => retryConflicts(async () => statement(), classify);
}

/** Whether `error` or one of its causes lost a conflict as `adapter` classifies them. */
export function lostConflict(adapter: ConflictClassifier, error: unknown): boolean {
  return isConflict(error, conflictOf(adapter));
}
