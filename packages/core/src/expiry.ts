import type { SessionData } from 'express-session';
import { InvalidSessionError } from './errors.js';

/** The latest expiry every supported column type holds (some date-time types, and ISO-8601 text, stop at year 9999). */
export const MAX_EXPIRY_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * When a session expires, in milliseconds since the epoch: its cookie's `expires` (a Date, or the ISO string a
 * session read back from JSON carries), else now plus the cookie's `maxAge`, else now plus the `ttl`.
 */
export function expiryOf(session: SessionData, now: number, ttl: (session: SessionData) => number): number {
  const cookie = (session as Partial<SessionData>).cookie as { expires?: unknown; maxAge?: unknown } | undefined | null;
  if (cookie && cookie.expires) {
    const expires = cookie.expires;
    const ms =
      expires instanceof Date
        ? expires.getTime()
        : typeof expires === 'string' || typeof expires === 'number'
          ? new Date(expires).getTime()
          : Number.NaN;
    if (!Number.isFinite(ms)) throw new InvalidSessionError(`cookie.expires is not a valid date: ${String(expires)}`);
    return Math.min(ms, MAX_EXPIRY_MS);
  }
  if (cookie && typeof cookie.maxAge === 'number' && !Number.isNaN(cookie.maxAge)) {
    return clamp(now + cookie.maxAge);
  }
  let lifetime: unknown;
  try {
    lifetime = ttl(session);
  } catch (error) {
    // The application's own function failed: say so, rather than let it pass for a database error.
    throw new InvalidSessionError(`the ttl function threw: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (typeof lifetime !== 'number' || Number.isNaN(lifetime)) {
    throw new InvalidSessionError(`the ttl function must return a number of milliseconds, got ${String(lifetime)}`);
  }
  return clamp(now + lifetime);
}

function clamp(ms: number): number {
  return Math.max(Math.min(ms, MAX_EXPIRY_MS), Number.MIN_SAFE_INTEGER);
}
