import type { SessionData } from 'express-session';
import { InvalidSessionError } from './errors.js';

/** The latest expiry every supported column type holds (some date-time types, and ISO-8601 text, stop at year 9999). */
export const MAX_EXPIRY_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * When a session expires, in milliseconds since the epoch: its cookie's `expires` (a Date, or the ISO string a
 * session read back from JSON carries), else now plus the cookie's `maxAge`, else now plus the `ttl`.
 */
export function expiryOf(session: SessionData, now: number, ttl: (session: SessionData) => number): number {
  let expires: unknown;
  let maxAge: unknown;
  try {
    const cookie = (session as Partial<SessionData>).cookie as { expires?: unknown; maxAge?: unknown } | undefined | null;
    expires = cookie?.expires;
    maxAge = cookie?.maxAge;
  } catch (error) {
    // A getter that throws: the session's fault, not the database's.
    throw new InvalidSessionError(`reading the session's cookie threw: ${messageOf(error)}`, { cause: error });
  }
  if (expires) {
    const ms =
      expires instanceof Date
        ? expires.getTime()
        : typeof expires === 'string' || typeof expires === 'number'
          ? new Date(expires).getTime()
          : Number.NaN;
    if (!Number.isFinite(ms)) throw new InvalidSessionError(`cookie.expires is not a valid date: ${describeDate(expires)}`);
    return Math.min(ms, MAX_EXPIRY_MS);
  }
  if (typeof maxAge === 'number' && !Number.isNaN(maxAge)) {
    return clamp(now + maxAge);
  }
  let lifetime: unknown;
  try {
    lifetime = ttl(session);
  } catch (error) {
    // The application's own function failed: say so, rather than let it pass for a database error.
    throw new InvalidSessionError(`the ttl function threw: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (typeof lifetime !== 'number' || Number.isNaN(lifetime)) {
    throw new InvalidSessionError(`the ttl function must return a number of milliseconds, got ${describeDate(lifetime)}`);
  }
  return clamp(now + lifetime);
}

function clamp(ms: number): number {
  return Math.max(Math.min(ms, MAX_EXPIRY_MS), Number.MIN_SAFE_INTEGER);
}

/** A thrown value's message, whatever was thrown (an object without a prototype has no toString). */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : describeDate(error);
}

/** A value for an error message, never itself throwing: String() fails on an object without a prototype. */
function describeDate(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  if (value instanceof Date) return 'an invalid Date';
  return Array.isArray(value) ? 'an array' : 'an object';
}

/**
 * The session's expiry in ms (see {@link expiryOf}), or `undefined` when it has already passed at `now`: a set or
 * touch of such a session deletes its row instead, so that it is never revived.
 */
export function liveExpiry(session: SessionData, now: number, ttl: (session: SessionData) => number): number | undefined {
  const expires = expiryOf(session, now, ttl);
  return expires > now ? expires : undefined;
}

/** How far away an expiry must be to be stored in whole seconds (see {@link storedExpiry}). */
export const WHOLE_SECONDS_FROM_MS = 60_000;

/**
 * The expiry a store writes for a session that expires at `expires` (ms), at `now`: rounded up to the next whole
 * second when that is a minute or more away, else exact. Writes and touches of one session within a second then store
 * the same value, so the expiry index is left alone (an engine that versions rows can then update the row in place) and
 * a touch finds nothing to change. A session may outlive its cookie by under a second, under 2% of its lifetime, as
 * the browser keeps the cookie to the second anyway; it never ends early, and a short-lived one keeps its milliseconds.
 */
export function storedExpiry(expires: number, now: number): number {
  if (expires - now < WHOLE_SECONDS_FROM_MS) return expires;
  return Math.min(Math.ceil(expires / 1000) * 1000, MAX_EXPIRY_MS);
}
