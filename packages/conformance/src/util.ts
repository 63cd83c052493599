import { randomBytes } from 'node:crypto';
import { expect } from '@jest/globals';
import type { SessionData } from 'express-session';
import { MAX_EXPIRY_MS, type Callback, type KnexStore } from '@csk/core';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** A short random hex string for table names and sids that never collide between suites sharing a database. */
export function randomId(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * A table name unique to one describe block, short enough for every engine's identifier limit even with knex's
 * `_expired_index` suffix.
 */
export function uniqueTableName(label: string): string {
  return `csk_conf_${label}_${randomId()}`;
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The expiry a store writes for a session expiring at `ms`: rounded up to the whole second when it is a minute or more
 * away (the cases write expiries hours away, or seconds away), else exact.
 */
export function asStored(ms: number): number {
  return ms - Date.now() >= MINUTE ? Math.min(Math.ceil(ms / 1000) * 1000, MAX_EXPIRY_MS) : ms;
}

/**
 * Wait into the next whole second, and a little past it: then now + a maxAge of whole seconds lands in a later second
 * than before the wait, and the expiry a store writes for it moves (it stores expiries hours away rounded up to the
 * second).
 */
export function sleepPastTheSecond(): Promise<void> {
  return sleep(1000 - (Date.now() % 1000) + 50);
}

/**
 * Poll `probe` until it returns true. Rejects with `what` when `deadlineMs` passes: a generous deadline, because the
 * wait is for an outcome, never a measure of speed.
 */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean> | boolean,
  deadlineMs = 10 * SECOND,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** What a session looks like after a JSON round trip (dates become ISO strings): what `get` should return. */
export function roundTrip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A session as express-session builds it, whose cookie expires at `expiresMs`, carrying `data`. */
export function sessionExpiringAt(expiresMs: number, data: Record<string, unknown> = {}): SessionData {
  const cookie = { originalMaxAge: expiresMs - Date.now(), expires: new Date(expiresMs), httpOnly: true, path: '/' };
  return { cookie, ...data } as unknown as SessionData;
}

/** A session whose cookie expires `lifetimeMs` from now (one hour by default). */
export function liveSession(data: Record<string, unknown> = {}, lifetimeMs = HOUR): SessionData {
  return sessionExpiringAt(Date.now() + lifetimeMs, data);
}

/** A session with the given cookie fields and data, for the expiry-order cases. */
export function sessionWithCookie(
  cookie: Record<string, unknown> | undefined,
  data: Record<string, unknown> = {},
): SessionData {
  return (cookie === undefined ? { ...data } : { cookie, ...data }) as unknown as SessionData;
}

/** How one call with a callback ended. */
export interface CallbackOutcome<T> {
  /** The first callback's error argument. */
  error: unknown;
  /** The first callback's value argument. */
  value: T | undefined;
  /** How many times the callback ran (checked after a grace period, so a late second call is seen). */
  calls: number;
  /** How the promise the method returned settled. */
  promise: 'resolved' | 'rejected' | 'not a promise';
}

/**
 * Call a store method with a callback and report how it ended. The call itself must not throw: bad input and database
 * errors belong in the callback.
 */
export async function withCallback<T>(
  start: (callback: Callback<T>) => unknown,
  deadlineMs = 10 * SECOND,
): Promise<CallbackOutcome<T>> {
  const calls: Array<{ error: unknown; value: T | undefined }> = [];
  let returned: unknown;
  expect(() => {
    returned = start((error, value) => {
      calls.push({ error, value });
    });
  }).not.toThrow();
  const promise =
    returned instanceof Promise
      ? await returned.then(
          () => 'resolved' as const,
          () => 'rejected' as const,
        )
      : ('not a promise' as const);
  await waitFor('the callback', () => calls.length > 0, deadlineMs);
  // Room for a wrong second call to show up.
  await sleep(20);
  const first = calls[0]!;
  return { error: first.error, value: first.value, calls: calls.length, promise };
}

/** The `name` of an error (the store's errors name their class), or a description of a non-error. */
export function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return error === null || error === undefined ? String(error) : `non-error ${typeof error}`;
}

/** A get of `sid` that fails, through its one callback, with an InvalidSessionError naming the sid: that error. */
export async function expectInvalidSessionRead(store: KnexStore, sid: string): Promise<Error> {
  const outcome = await withCallback((done) => store.get(sid, done));
  expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
  expect(errorName(outcome.error)).toBe('InvalidSessionError');
  expect((outcome.error as { sid?: unknown }).sid).toBe(sid);
  expect((outcome.error as Error).message).toContain(JSON.stringify(sid));
  return outcome.error as Error;
}
