import { expect } from '@jest/globals';
import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { DatabaseError, type KnexStore } from '@csk/core';

const HOUR = 3_600_000;

/** A session whose cookie expires in an hour, with `data`. */
export function fastPathSession(data: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR), path: '/' }, ...data } as SessionData;
}

/** Connections handed out and not yet back, plus callers waiting for one. */
export function inUse(db: Knex): number {
  const pool = (db.client as { pool: { numUsed(): number; numPendingAcquires(): number } }).pool;
  return pool.numUsed() + pool.numPendingAcquires();
}

/**
 * Every connection the store took is back or given back on demand: after a query of the application's own, nothing is
 * out and nothing waits. (A store on an in-process database keeps one connection between its calls, and gives it back
 * when someone else asks the pool for one: that query would otherwise wait.)
 */
export async function expectConnectionsBack(db: Knex): Promise<void> {
  expect(await db.raw('select 1 as one')).toBeDefined();
  expect(inUse(db)).toBe(0);
}

/** The statements knex itself ran while `body` ran (the fast path runs its own without knex, so raises none). */
export async function knexQueries(db: Knex, body: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const record = (query: { sql: string }): void => {
    seen.push(query.sql);
  };
  db.on('query', record);
  try {
    await body();
  } finally {
    db.off('query', record);
  }
  return seen;
}

/** set (twice: insert, then replace), get, touch, destroy and get again of one sid, checking each result. */
export async function roundTrip(store: KnexStore, sid = 'a'): Promise<void> {
  await store.set(sid, fastPathSession({ n: 1 }));
  await store.set(sid, fastPathSession({ n: 2 }));
  expect(await store.get(sid)).toMatchObject({ n: 2 });
  // A later expiry than the one just read: a touch that would store the expiry its get read sends nothing.
  const later = fastPathSession({ n: 2 });
  later.cookie.expires = new Date(Date.now() + 2 * HOUR);
  await store.touch(sid, later);
  expect(await store.destroy(sid)).toBe(1);
  expect(await store.get(sid)).toBeNull();
}

/**
 * 40 concurrent get/set/touch/destroy calls succeed; after `dropTable` the same 40 all fail with DatabaseError; and
 * every pooled connection is back afterwards, the failed calls' included (see {@link expectConnectionsBack}).
 */
export async function expectConnectionsBackAfterFailures(
  db: Knex,
  store: KnexStore,
  dropTable: () => Promise<unknown>,
): Promise<void> {
  const work = (round: number) =>
    Array.from({ length: 40 }, (_, i) => {
      const sid = `s${i % 8}`;
      if (i % 4 === 0) return store.get(sid);
      if (i % 4 === 1) return store.set(sid, fastPathSession({ round }));
      if (i % 4 === 2) return store.touch(sid, fastPathSession({ round }));
      return store.destroy(sid);
    });
  expect((await Promise.allSettled(work(1))).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
  await dropTable();
  const failed = await Promise.allSettled(work(2));
  expect(failed.every((outcome) => outcome.status === 'rejected')).toBe(true);
  expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(DatabaseError);
  await new Promise((resolve) => setImmediate(resolve));
  await expectConnectionsBack(db);
}
