/** The most sids one coalesced read carries (below every engine's limit on bound values and `IN` lists). */
export const MAX_COALESCED_READS = 100;

/** What a coalesced read finds for one sid: its stored value and expiry (epoch ms), or `found: false`. */
export interface CoalescedRead {
  readonly found: boolean;
  readonly value?: unknown;
  readonly expires?: number;
}

interface Waiting {
  readonly resolve: (read: CoalescedRead) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers the reads asked for within one turn of the event loop and sends them as one statement at its end (a
 * `setImmediate`, which runs after the turn's I/O callbacks and their promise continuations): under load, the `get`s
 * of the requests a server parsed together share one statement and one pooled connection. Two reads of one sid in a
 * turn share its row. A failed statement fails every read it carried, and only those.
 */
export class ReadCoalescer {
  readonly #readOne: (sid: string) => Promise<CoalescedRead>;
  readonly #readMany: (sids: readonly string[]) => Promise<Map<string, CoalescedRead>>;
  #pending = new Map<string, Waiting[]>();
  #scheduled = false;

  /** `readOne` reads a lone sid (its own statement); `readMany` several distinct sids, at most {@link MAX_COALESCED_READS}. */
  constructor(
    readOne: (sid: string) => Promise<CoalescedRead>,
    readMany: (sids: readonly string[]) => Promise<Map<string, CoalescedRead>>,
  ) {
    this.#readOne = readOne;
    this.#readMany = readMany;
  }

  /** The stored value of `sid`, read together with the others asked for in this turn. */
  read(sid: string): Promise<CoalescedRead> {
    return new Promise<CoalescedRead>((resolve, reject) => {
      const waiting = this.#pending.get(sid);
      if (waiting) waiting.push({ resolve, reject });
      else this.#pending.set(sid, [{ resolve, reject }]);
      if (this.#pending.size >= MAX_COALESCED_READS) this.#flush();
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
    const batch = this.#pending;
    if (batch.size === 0) return;
    this.#pending = new Map();
    const answer = (sid: string, read: CoalescedRead): void => {
      for (const waiting of batch.get(sid)!) waiting.resolve(read);
    };
    const fail = (error: unknown): void => {
      for (const all of batch.values()) for (const waiting of all) waiting.reject(error);
    };
    if (batch.size === 1) {
      const [sid] = batch.keys() as IterableIterator<string>;
      this.#readOne(sid!).then((read) => answer(sid!, read), fail);
      return;
    }
    const sids = [...batch.keys()];
    this.#readMany(sids).then((found) => {
      for (const sid of sids) answer(sid, found.get(sid) ?? { found: false });
    }, fail);
  }
}
