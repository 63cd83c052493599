import type { SessionData } from 'express-session';

/**
 * What the store tells a serializer about the session it is turning into text or back. A serializer that has no use
 * for it ignores the argument.
 */
export interface SerializerContext {
  /** The session's id as the sid column holds it: the sid itself, or its hash with the `hashSid` option. */
  readonly sid: string;
}

/**
 * How sessions become the text of the `sess` column and back. `parse` may be async (a decryption, say). A `parse`
 * that throws marks the row corrupt: the store reports it as an `InvalidSessionError` naming the sid, or with
 * `onCorruptSession: 'delete'` treats it as missing. The store passes a {@link SerializerContext} to both; a
 * serializer written for one argument keeps working.
 */
export interface Serializer {
  stringify(session: SessionData, context?: SerializerContext): string | Promise<string>;
  parse(text: string, context?: SerializerContext): SessionData | Promise<SessionData>;
}

/** The default: JSON, which keeps a native JSON column queryable. */
export const JSON_SERIALIZER: Serializer = Object.freeze({
  stringify: (session: SessionData): string => JSON.stringify(session),
  parse: (text: string): SessionData => JSON.parse(text) as SessionData,
});
