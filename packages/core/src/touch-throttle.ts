/** The most sids a store remembers for `touchAfter`; past it the oldest write is forgotten (it then touches again). */
export const TOUCH_THROTTLE_CAPACITY = 50_000;

/**
 * How long the expiry a `get` read stays good enough to skip a touch: about one request, the time between
 * express-session's `get` and its `touch`. A touch that comes later is sent, whatever it would store.
 */
const READ_TRUST_MS = 1000;

/** The expiry a `get` found stored (ms), and when. */
interface ReadExpiry {
  readonly storedMs: number;
  readonly at: number;
}

/**
 * Decides which touches may send nothing, by what this process knows of each session's stored expiry:
 * - within `touchAfter` ms of this process's last write of it (a set, or a touch that changed the row);
 * - when the expiry the touch would store is the one a `get` of this process read less than a second before: the
 *   touch would change nothing. express-session sends a `get` and then a `touch` for every request that leaves the
 *   session unchanged, and the store rounds far expiries up to the second, so most of those touches are such.
 *
 * Memory is bounded: at most {@link TOUCH_THROTTLE_CAPACITY} sids of each kind, the oldest forgotten first (a forgotten
 * sid merely sends its next touch). Another process's writes are not seen: within `touchAfter` this process only
 * touches more than the rule says, and a write by another process between one request's `get` and its `touch` is
 * left as that process wrote it.
 */
export class TouchThrottle {
  readonly #windowMs: number;
  readonly #capacity: number;
  /** sid → time of the last expiry write, in insertion order: the first entry is always the oldest write. */
  readonly #written = new Map<string, number>();
  /** sid → the expiry a get read, in insertion order: the first entry is always the oldest read. */
  readonly #read = new Map<string, ReadExpiry>();
  /** When the reads were last rid of those too old to use. */
  #readsTrimmedAt = 0;

  constructor(windowMs: number, capacity = TOUCH_THROTTLE_CAPACITY) {
    this.#windowMs = windowMs;
    this.#capacity = capacity;
  }

  /** How many sids are remembered for `touchAfter`. */
  get size(): number {
    return this.#written.size;
  }

  /**
   * Whether a touch of `sid` at `now`, which would store the expiry `storedMs`, may send nothing: it falls within
   * `touchAfter` of the last expiry write, or a get read that very expiry less than a second before. A read is used
   * once.
   */
  skip(sid: string, now: number, storedMs?: number): boolean {
    const read = this.#read.get(sid);
    if (read !== undefined) {
      this.#read.delete(sid);
      // A clock that went backwards proves nothing: touch.
      if (read.storedMs === storedMs && now >= read.at && now - read.at < READ_TRUST_MS) return true;
    }
    if (this.#windowMs <= 0) return false;
    const at = this.#written.get(sid);
    if (at === undefined) return false;
    if (now >= at && now - at < this.#windowMs) return true;
    this.#written.delete(sid);
    return false;
  }

  /** Record that a get of `sid` at `at` found its row live, with the expiry `storedMs`. */
  read(sid: string, storedMs: number, at: number): void {
    const reads = this.#read;
    reads.delete(sid);
    reads.set(sid, { storedMs, at });
    // Reads that no touch followed (the request ended in a set, or never ended) go once they are too old to use. They
    // are looked for once a READ_TRUST_MS at most, not at every read (skip() refuses an old one anyway), and at once past
    // the capacity or when the clock went backwards.
    const since = at - this.#readsTrimmedAt;
    if (reads.size <= this.#capacity && since >= 0 && since < READ_TRUST_MS) return;
    this.#readsTrimmedAt = at;
    for (const [oldest, { at: then }] of reads) {
      if (reads.size <= this.#capacity && at - then < READ_TRUST_MS) break;
      reads.delete(oldest);
    }
  }

  /** Record that the expiry of `sid` was written at `at` (a set, or a touch that changed the row). */
  wrote(sid: string, at: number): void {
    this.#read.delete(sid);
    if (this.#windowMs <= 0) return;
    this.#written.delete(sid);
    this.#written.set(sid, at);
    if (this.#written.size > this.#capacity) this.#written.delete(this.#written.keys().next().value!);
  }

  /** Forget `sid` (its row was deleted). */
  forget(sid: string): void {
    this.#written.delete(sid);
    this.#read.delete(sid);
  }

  /** Forget what a get read of `sid` (a set of it is under way). */
  forgetRead(sid: string): void {
    this.#read.delete(sid);
  }
}
