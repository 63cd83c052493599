/**
 * The payloads of the events a store emits besides the availability events ('connect', 'disconnect') and 'error'.
 */

/**
 * What a store emits as `'prune'` after each prune that ran to its end: the rows it deleted, and whether it skipped
 * the prune because another store on the same table held the prune lock (then it deleted no expired row) or, where
 * that lock does not reach (a multi-primary cluster's nodes each hold their own), because its delete collided with
 * another store's (then `deleted` counts the batches done before).
 */
export interface PruneEvent {
  readonly deleted: number;
  readonly skipped: boolean;
  /** How long the prune took, lock included, in milliseconds. */
  readonly ms: number;
}

/** What a store emits as `'prune-progress'` after each batch of a prune: the rows deleted so far. */
export interface PruneProgressEvent {
  readonly deleted: number;
}

/** What a store emits as `'set'` after a session is written: its stored id (the hash, with `hashSid`) and expiry. */
export interface SetEvent {
  readonly sid: string;
  readonly expires: Date;
}

/**
 * What a store emits as `'destroy'` after sessions are deleted on request: the stored ids given to `destroy`, or the
 * filter given to `destroyWhere`, and the rows deleted.
 */
export interface DestroyEvent {
  readonly sids?: readonly string[];
  readonly where?: Readonly<Record<string, string>>;
  readonly deleted: number;
}
