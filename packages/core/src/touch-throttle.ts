/** The most sids a store remembers for `touchAfter`; past it the oldest write is forgotten (it then touches again). */
export const TOUCH_THROTTLE_CAPACITY = 50_000;

/**
 * Remembers when this process last wrote each session's expiry, so that `touch` can skip the statement within
 * `touchAfter` ms of it. Memory is bounded: at most {@link TOUCH_THROTTLE_CAPACITY} sids, the oldest write forgotten
 * first (a forgotten sid merely sends its next touch). Another process's writes are not seen, which only makes this
 * process touch more, never less, than the rule says.
 */
export class TouchThrottle {
  readonly #windowMs: number;
  readonly #capacity: number;
  /** sid → time of the last expiry write, in insertion order: the first entry is always the oldest write. */
  readonly #written = new Map<string, number>();

  constructor(windowMs: number, capacity = TOUCH_THROTTLE_CAPACITY) {
    this.#windowMs = windowMs;
    this.#capacity = capacity;
  }

  /** How many sids are remembered. */
  get size(): number {
    return this.#written.size;
  }

  /** Whether a touch of `sid` at `now` falls within the window of its last expiry write, and may send nothing. */
  skip(sid: string, now: number): boolean {
    if (this.#windowMs <= 0) return false;
    const at = this.#written.get(sid);
    if (at === undefined) return false;
    // A clock that went backwards proves nothing about the window: touch.
    if (now >= at && now - at < this.#windowMs) return true;
    this.#written.delete(sid);
    return false;
  }

  /** Record that the expiry of `sid` was written at `at` (a set, or a touch that changed the row). */
  wrote(sid: string, at: number): void {
    if (this.#windowMs <= 0) return;
    this.#written.delete(sid);
    this.#written.set(sid, at);
    if (this.#written.size > this.#capacity) this.#written.delete(this.#written.keys().next().value!);
  }

  /** Forget `sid` (its row was deleted). */
  forget(sid: string): void {
    this.#written.delete(sid);
  }
}
