import { errorChain } from './connection.js';
import { ConnectSessionKnexError, DatabaseError, SessionTableMissingError } from './errors.js';

/** How often a store that has emitted `'disconnect'` asks the database whether it is back. */
export const AVAILABILITY_PROBE_INTERVAL_MS = 500;

/** The availability events of a store, as express-session listens for them. */
export type AvailabilityEvent = 'connect' | 'disconnect';

/** What a finished operation says about the database. */
type Evidence = 'answered' | 'unreachable' | 'none';

/** What an {@link Availability} needs from its store. */
export interface AvailabilitySettings {
  /** Ask the database something; rejects when it does not answer. */
  readonly probe: () => Promise<unknown>;
  /** Whether one error (not its causes) means the database was out of reach. */
  readonly isConnectionError: (error: unknown) => boolean;
  /** Tell the application (express-session listens for both events). */
  readonly emit: (event: AvailabilityEvent) => void;
  /** Milliseconds between probes while the database is out of reach. */
  readonly intervalMs?: number;
}

/**
 * Decides when a store emits `'disconnect'` and `'connect'`.
 *
 * express-session stops using a store that emitted `'disconnect'`: until `'connect'`, every request runs with no
 * session at all, which logs every user out without an error anywhere. So the rule is strict. `'disconnect'` is
 * emitted only when an operation failed for want of the database (no connection within the pool's timeout, a refused
 * or broken connection: errors the adapter classifies) AND a probe of the store's own, sent right after, also finds
 * no database, with no operation answered in between. An SQL error (a constraint, a syntax error, a missing table)
 * comes from a database that answered and never counts; neither does one broken connection in an otherwise
 * reachable pool, since the probe then gets its answer. While disconnected the store probes every
 * {@link AVAILABILITY_PROBE_INTERVAL_MS} ms on its own, because express-session calls nothing while it believes the
 * store is down, and emits `'connect'` when a probe is answered. The same evidence both ways: a new connection that
 * fails, then one that answers. An answer on a connection opened before the outage proves nothing about the next
 * one (a server that refuses new connections can still finish what it was sent on old ones), so while disconnected an
 * operation's answer emits nothing; express-session, told `'connect'`, would otherwise fail request after request.
 */
export class Availability {
  readonly #settings: AvailabilitySettings;
  /** What listeners were last told: they assume a reachable database until told otherwise. */
  #available = true;
  /** Operations (and probes) the database answered, to tell whether one answered while a probe was out. */
  #answers = 0;
  #probe: Promise<void> | undefined;
  /** When the last probe began: probes are at least an interval apart, so a saturated pool never sets off a storm. */
  #probedAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(settings: AvailabilitySettings) {
    this.#settings = settings;
  }

  /** Whether the database is believed reachable (no `'disconnect'` without a later `'connect'`). */
  get available(): boolean {
    return this.#available;
  }

  /** Record how an operation that went to the database ended: `error` is undefined when it succeeded. */
  record(error?: unknown): void {
    if (this.#stopped) return;
    const evidence = this.#evidence(error);
    if (evidence === 'answered') this.#answered();
    else if (evidence === 'unreachable' && this.#available && !this.#probe) {
      this.#startProbe(Math.max(0, this.#probedAt + this.#interval - Date.now()));
    }
  }

  /** Stop probing; resolves once a probe in flight has ended (it may still be using the knex). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#probe;
  }

  get #interval(): number {
    return this.#settings.intervalMs ?? AVAILABILITY_PROBE_INTERVAL_MS;
  }

  #evidence(error: unknown): Evidence {
    if (error === undefined) return 'answered';
    // The store's own refusals (a bad sid, a session that cannot be serialised, a closed store) say nothing about
    // the database; only these two classes carry what the database did.
    const fromDatabase = error instanceof DatabaseError || error instanceof SessionTableMissingError;
    if (error instanceof ConnectSessionKnexError && !fromDatabase) return 'none';
    return errorChain(error).some((link) => this.#settings.isConnectionError(link)) ? 'unreachable' : 'answered';
  }

  /** `probed`: the answer came on the probe's own new connection, the only answer that ends an outage. */
  #answered(probed = false): void {
    this.#answers += 1;
    if (this.#available || !probed) return;
    this.#available = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#settings.emit('connect');
  }

  #startProbe(delayMs: number): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped || this.#probe) return;
      this.#probedAt = Date.now();
      this.#probe = this.#runProbe().finally(() => {
        this.#probe = undefined;
      });
    }, delayMs);
    // A process whose work is done must not stay alive to probe a database.
    this.#timer.unref();
  }

  async #runProbe(): Promise<void> {
    const answersBefore = this.#answers;
    let error: unknown;
    try {
      await this.#settings.probe();
    } catch (failure) {
      error = failure ?? new Error('the probe failed');
    }
    if (this.#stopped) return;
    if (error === undefined || this.#evidence(error) !== 'unreachable') {
      this.#answered(true);
      return;
    }
    // Something answered while the probe waited: that failure was one connection's, not the database's.
    if (this.#available && this.#answers !== answersBefore) return;
    if (this.#available) {
      this.#available = false;
      this.#settings.emit('disconnect');
    }
    this.#startProbe(this.#interval);
  }
}
