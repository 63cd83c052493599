import type { SessionData } from 'express-session';

/**
 * How sessions become the text of the `sess` column and back. `parse` may be async (a decryption, say). A `parse`
 * that throws marks the row corrupt: the store reports it as an `InvalidSessionError` naming the sid, or with
 * `onCorruptSession: 'delete'` treats it as missing.
 */
export interface Serializer {
  stringify(session: SessionData): string | Promise<string>;
  parse(text: string): SessionData | Promise<SessionData>;
}

/** The default: JSON, which keeps a native JSON column queryable. */
export const JSON_SERIALIZER: Serializer = Object.freeze({
  stringify: (session: SessionData): string => JSON.stringify(session),
  parse: (text: string): SessionData => JSON.parse(text) as SessionData,
});
