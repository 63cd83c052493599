/** A promise with its resolve function exposed, to pause an adapter call until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Resolves once `check` passes; rejects with its last failure after `timeoutMs` (a liveness bound, not timing). */
export async function eventually(check: () => Promise<void> | void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Let pending promise callbacks and a few timer turns run. */
export function settleTicks(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
