import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import type { KnexStore, KnexStoreOptions } from '@csk/core';
import { HOUR, MINUTE, asStored, roundTrip, sessionExpiringAt as sessionUntil } from '../util.js';

/** The store whose table is adopted, its methods as promises. */
export interface AdoptedPeer {
  get(sid: string): Promise<unknown>;
  set(sid: string, session: SessionData): Promise<unknown>;
  touch(sid: string, session: SessionData): Promise<unknown>;
  destroy(sid: string): Promise<unknown>;
  /** The peer's own prune of expired sessions. */
  prune(): Promise<unknown>;
  /** The ids of the live sessions, where the peer can list them. */
  ids?(): Promise<string[]>;
  /** The number of live sessions, where the peer can count them. */
  length?(): Promise<number>;
  close(): Promise<unknown> | void;
}

/** The peer's table with the peer on it and a way to read the rows directly, as a dialect sets them up. */
export interface Adoption {
  readonly peer: AdoptedPeer;
  /** The options that put the package's store on the peer's table (its knex, names and expiry encoding). */
  readonly storeOptions: KnexStoreOptions;
  /** The instant a row's expiry holds, in epoch ms, read as the peer means it; undefined without the row. */
  storedExpiry(sid: string): Promise<number | undefined>;
  /** The sids of every row, expired or not, sorted. */
  rowSids(): Promise<string[]>;
  /** The dialect's checks that the table is the peer's own. */
  expectPeerTable(): Promise<void>;
  /** Close the peer, drop the table and release the connections (the store is closed before). */
  close(): Promise<void>;
}

/** Options of {@link describeAdoption}. */
export interface AdoptionTarget {
  /** The describe title. */
  readonly name: string;
  /** The peer's package name, for the test titles. */
  readonly peerName: string;
  /** The title of the test of {@link Adoption.expectPeerTable}. */
  readonly tableTitle: string;
  /** Creates the peer and its table. */
  setup(): Promise<Adoption>;
  /** The package's store class with these options. */
  createStore(options: KnexStoreOptions): KnexStore;
  /** What the peer's get resolves for a missing or expired session. */
  readonly missing: null | undefined;
  /** The expiry, in epoch ms, the peer stores for a session expiring at `ms` (the peer rounds to its precision). */
  peerExpiry(ms: number): number;
  /**
   * The dialect's check of the expiry the store wrote (`stored`, in epoch ms) where it means to store `ms` (see
   * `asStored`: an expiry a minute or more away is rounded up to the whole second).
   */
  expectStoreExpiry(stored: number | undefined, ms: number): void;
}

/**
 * Adopting another session store's table in place: the peer creates its table and writes first; the package's store
 * then works on the same rows, and the peer still reads what the store wrote, so that the two can run side by side
 * during a rolling migration. The tests run in order on one table.
 */
export function describeAdoption(target: AdoptionTarget): void {
  const { peerName, missing } = target;
  describe(target.name, () => {
    let adoption: Adoption;
    let peer: AdoptedPeer;
    let store: KnexStore;
    const at: Record<string, number> = {};
    const written: Record<string, SessionData> = {};
    const storedExpiry = (sid: string): Promise<number | undefined> => adoption.storedExpiry(sid);
    const rowSids = (): Promise<string[]> => adoption.rowSids();

    beforeAll(async () => {
      adoption = await target.setup();
      ({ peer } = adoption);
      const now = Date.now();
      Object.assign(at, { ada: now + HOUR, bob: now + 2 * HOUR, old: now - HOUR });
      written.ada = sessionUntil(at.ada!, { user: 'ada', note: 'ünïcödé ✓ 😀' });
      await peer.set('peer-ada', written.ada);
      await peer.set('peer-bob', sessionUntil(at.bob!, { user: 'bob' }));
      await peer.set('peer-old', sessionUntil(at.old!, { user: 'old' }));
      // The table is the peer's: the store neither creates it nor prunes it in the background.
      store = target.createStore({ ...adoption.storeOptions, createTable: false, cleanupInterval: 0 });
      await store.ready;
    });

    afterAll(async () => {
      await store?.close();
      await adoption?.close();
    });

    it(target.tableTitle, async () => {
      await adoption.expectPeerTable();
      expect(await storedExpiry('peer-ada')).toBe(target.peerExpiry(at.ada!));
    });

    it(`reads what ${peerName} wrote: the live sessions, and the expired one as missing`, async () => {
      await expect(store.get('peer-ada')).resolves.toEqual(roundTrip(written.ada));
      await expect(store.get('peer-bob')).resolves.toMatchObject({ user: 'bob' });
      await expect(store.get('peer-old')).resolves.toBeNull();
      await expect(store.length()).resolves.toBe(2);
      expect((await store.ids())?.sort()).toEqual(['peer-ada', 'peer-bob']);
      expect(Object.keys((await store.allById()) ?? {}).sort()).toEqual(['peer-ada', 'peer-bob']);
    });

    it(`${peerName} reads what the store wrote, with the expiry instant it means`, async () => {
      const expires = Date.now() + 30 * MINUTE + 123;
      const mine = sessionUntil(expires, { user: 'cyd', cart: [1, 2] });
      await store.set('ours-cyd', mine);
      target.expectStoreExpiry(await storedExpiry('ours-cyd'), asStored(expires));
      await expect(peer.get('ours-cyd')).resolves.toEqual(roundTrip(mine));
      await expect(store.get('ours-cyd')).resolves.toEqual(roundTrip(mine));
      if (peer.ids) expect((await peer.ids()).sort()).toEqual(['ours-cyd', 'peer-ada', 'peer-bob']);
      if (peer.length) await expect(peer.length()).resolves.toBe(3);
    });

    it("each store's touch extends a session the other wrote, and each sees it live", async () => {
      const later = Date.now() + 3 * HOUR + 456;
      await store.touch('peer-ada', sessionUntil(later, { user: 'ada' }));
      target.expectStoreExpiry(await storedExpiry('peer-ada'), asStored(later));
      await expect(peer.get('peer-ada')).resolves.toMatchObject({ user: 'ada' });

      const peerLater = Date.now() + 4 * HOUR;
      await peer.touch('ours-cyd', sessionUntil(peerLater, { user: 'cyd' }));
      expect(await storedExpiry('ours-cyd')).toBe(target.peerExpiry(peerLater));
      await expect(store.get('ours-cyd')).resolves.toMatchObject({ user: 'cyd' });
    });

    it(`the store never revives the session ${peerName} wrote expired`, async () => {
      const before = await storedExpiry('peer-old');
      await store.touch('peer-old', sessionUntil(Date.now() + HOUR, { user: 'old' }));
      expect(await storedExpiry('peer-old')).toBe(before);
      await expect(store.get('peer-old')).resolves.toBeNull();
      await expect(peer.get('peer-old')).resolves.toBe(missing);
    });

    it("each store's destroy removes a session the other wrote", async () => {
      await expect(store.destroy('peer-bob')).resolves.toBe(1);
      await expect(peer.get('peer-bob')).resolves.toBe(missing);
      await store.set('ours-dan', sessionUntil(Date.now() + HOUR, { user: 'dan' }));
      await peer.destroy('ours-dan');
      await expect(store.get('ours-dan')).resolves.toBeNull();
    });

    it(`prune deletes only the expired rows, and ${peerName}'s own prune keeps the store's live ones`, async () => {
      await peer.set('peer-old-2', sessionUntil(Date.now() - 10 * MINUTE, { user: 'old-2' }));
      await peer.set('peer-soon', sessionUntil(Date.now() + 10 * MINUTE, { user: 'soon' }));
      await store.set('ours-soon', sessionUntil(Date.now() + 10 * MINUTE, { user: 'ours-soon' }));
      const live = ['ours-cyd', 'ours-soon', 'peer-ada', 'peer-soon'];
      expect(await rowSids()).toEqual([...live, 'peer-old', 'peer-old-2'].sort());

      await expect(store.prune()).resolves.toBe(2);
      expect(await rowSids()).toEqual(live);
      await peer.prune();
      expect(await rowSids()).toEqual(live);
      await expect(store.length()).resolves.toBe(live.length);
      for (const sid of live) await expect(peer.get(sid)).resolves.not.toBe(missing);
    });
  });
}
