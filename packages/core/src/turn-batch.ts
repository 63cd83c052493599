/** The most sids one batch carries (below every engine's limit on bound values and `IN` lists). */
export const MAX_BATCH_SIZE = 100;

interface Waiting<R> {
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** How a batch's statements run: `one` for a lone sid, `many` for several distinct sids (at most {@link MAX_BATCH_SIZE}). */
export interface BatchStatements<V, R> {
  one(sid: string, value: V): Promise<R>;
  /** Resolves a function that answers each sid of the batch, or throws what fails that sid's calls. */
  many(entries: ReadonlyMap<string, V>): Promise<(sid: string) => R>;
}

/**
 * Gathers the calls on sids made within one turn of the event loop and sends them as one statement at its end (a
 * `setImmediate`, which runs after the turn's I/O callbacks and their promise continuations): under load, the calls
 * of the requests a server parsed together share one statement and one pooled connection. Two calls on one sid in a
 * turn share one entry, holding the later call's value, and get the same answer. A failed batch fails every call it
 * carried, and only those; an answer may also fail the calls of one sid alone.
 */
export class TurnBatch<V, R> {
  readonly #statements: BatchStatements<V, R>;
  #values = new Map<string, V>();
  #waiting = new Map<string, Array<Waiting<R>>>();
  #scheduled = false;

  constructor(statements: BatchStatements<V, R>) {
    this.#statements = statements;
  }

  /** The answer for `sid`, sent with the other calls of this turn. */
  add(sid: string, value: V): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#values.set(sid, value);
      const waiting = this.#waiting.get(sid);
      if (waiting) waiting.push({ resolve, reject });
      else this.#waiting.set(sid, [{ resolve, reject }]);
      if (this.#values.size >= MAX_BATCH_SIZE) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    const values = this.#values;
    const waiting = this.#waiting;
    if (values.size === 0) return;
    this.#values = new Map();
    this.#waiting = new Map();
    const fail = (error: unknown): void => {
      for (const all of waiting.values()) for (const one of all) one.reject(error);
    };
    if (values.size === 1) {
      const [sid, value] = values.entries().next().value as [string, V];
      this.#statements.one(sid, value).then((result) => {
        for (const one of waiting.get(sid)!) one.resolve(result);
      }, fail);
      return;
    }
    this.#statements.many(values).then((answer) => {
      for (const [sid, all] of waiting) {
        // An answer that throws for a sid fails that sid's calls alone.
        let result: R;
        try {
          result = answer(sid);
        } catch (error) {
          for (const one of all) one.reject(error);
          continue;
        }
        for (const one of all) one.resolve(result);
      }
    }, fail);
  }
}
