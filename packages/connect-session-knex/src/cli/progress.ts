/** Where progress goes: a writable stream, and whether it is a terminal (and how wide). */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

const number = (n: number): string => n.toLocaleString('en-US');

/** A duration as people read it: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 07 min`, `3 d 04 h`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const two = (n: number): string => String(n).padStart(2, '0');
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${two(seconds % 60)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${two(minutes % 60)} min`;
  const hours = Math.round(minutes / 60);
  return `${Math.floor(hours / 24)} d ${two(hours % 24)} h`;
}

/**
 * The progress of a prune against the number of expired rows counted before it. On a terminal, a bar redrawn in place
 * (at most every 100 ms); elsewhere (a log, a pipe), a plain line at each further tenth, so that a long prune leaves
 * a readable trail and a short one a line or two. Rows that expire while the prune runs are deleted too, so `deleted`
 * may pass `total`: the bar then stays full.
 */
export class PruneProgress {
  readonly #out: ProgressOutput;
  readonly #total: number;
  readonly #started = performance.now();
  #drawnAt = -Infinity;
  #tenth = 0;
  #drawn = false;
  #done = false;

  constructor(out: ProgressOutput, total: number) {
    this.#out = out;
    this.#total = total;
  }

  /** Rows deleted so far (the `'prune-progress'` event's `deleted`). */
  update(deleted: number): void {
    if (this.#done || this.#total <= 0) return;
    if (this.#out.isTTY) {
      const now = performance.now();
      if (now - this.#drawnAt < 100 && deleted < this.#total) return;
      this.#drawnAt = now;
      this.#out.write(`\r${this.#bar(deleted)}\u001b[K`);
      this.#drawn = true;
      return;
    }
    const tenth = Math.min(10, Math.floor((deleted / this.#total) * 10));
    if (tenth <= this.#tenth) return;
    this.#tenth = tenth;
    this.#out.write(`pruned ${number(deleted)} of ${number(this.#total)} expired sessions (${tenth * 10} %)\n`);
  }

  /** Stop drawing (later events are ignored) and clear the bar's line. */
  finish(): void {
    this.#done = true;
    if (this.#drawn) this.#out.write('\r\u001b[K');
  }

  #bar(deleted: number): string {
    const fraction = Math.min(1, deleted / this.#total);
    const label = ` ${String(Math.floor(fraction * 100)).padStart(3)} % ${number(deleted)}/${number(this.#total)} · ${duration(performance.now() - this.#started)}`;
    const width = Math.max(10, Math.min(40, (this.#out.columns ?? 80) - label.length - 3));
    const filled = Math.round(fraction * width);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${label}`;
  }
}
