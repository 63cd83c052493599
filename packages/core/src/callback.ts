/** A node-style callback as express-session passes them. */
export type Callback<T> = (error: unknown, value?: T) => void;

/**
 * Finish a store operation either way its caller asked for. With a callback, the callback runs exactly once, on a
 * later tick and outside any of the store's promise handlers (so a throw from it is the caller's own uncaught
 * exception, never a second call), and the returned promise always fulfils. Without one, the promise carries the
 * result or the error.
 */
export function settle<T>(operation: Promise<T>, callback: Callback<T> | undefined): Promise<T | undefined> {
  if (typeof callback !== 'function') return operation;
  return operation.then(
    (value) => {
      process.nextTick(callback, null, value);
      return value;
    },
    (error: unknown) => {
      process.nextTick(callback, error);
      return undefined;
    },
  );
}

const noop = (): void => {};

/** The promise of every operation that finished at once with nothing to give: one for all, as nothing can change it. */
const FULFILLED = Promise.resolve(undefined);

/**
 * {@link settle} for an operation that has already finished: with `value`, or with the error `value` when `failed`.
 * The callback is queued on the next tick at once, which is the point of finishing early (see `ImmediateWrites`).
 */
export function settleNow<T>(failed: boolean, value: unknown, callback: Callback<T> | undefined): Promise<T | undefined> {
  if (typeof callback === 'function') {
    if (failed) process.nextTick(callback, value);
    else process.nextTick(callback, null, value);
    return failed || value === undefined ? FULFILLED : Promise.resolve(value as T);
  }
  if (!failed) return value === undefined ? FULFILLED : Promise.resolve(value as T);
  // Marked handled, as the ordinary path's promise is: a caller that ignores the failure gets no unhandled rejection.
  const rejected = Promise.reject(value);
  rejected.catch(noop);
  return rejected;
}
