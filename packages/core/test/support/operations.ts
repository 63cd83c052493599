import type { SessionData } from 'express-session';
import type { KnexStore } from '../../src/index.js';

/** A callback taking whatever a store method gives it. */
export type AnyCallback = (error: unknown, value?: unknown) => void;

/** One store method called with fixed arguments, with or without a callback. */
export type StoreCall = (store: KnexStore, callback?: AnyCallback) => Promise<unknown>;

/**
 * Every store method as a named call, for `it.each` tables of what holds for all of them: get and touch act on `sid`,
 * set and destroy on `writeSid` (the same sid unless given).
 */
export function everyStoreMethod(session: SessionData, sid = 'a', writeSid = sid): Array<[string, StoreCall]> {
  return [
    ['get', (store, callback) => store.get(sid, callback)],
    ['set', (store, callback) => store.set(writeSid, session, callback)],
    ['touch', (store, callback) => store.touch(sid, session, callback)],
    ['destroy', (store, callback) => store.destroy(writeSid, callback)],
    ['all', (store, callback) => store.all(callback)],
    ['allById', (store, callback) => store.allById(callback)],
    ['length', (store, callback) => store.length(callback)],
    ['ids', (store, callback) => store.ids(callback)],
    ['prune', (store, callback) => store.prune(callback)],
    ['clear', (store, callback) => store.clear(callback)],
  ];
}
