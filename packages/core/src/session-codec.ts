import { createHash, createHmac } from 'node:crypto';
import type { SessionData } from 'express-session';
import { InvalidSessionError, reasonOf } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { Serializer } from './serializer.js';

/** The options a {@link SessionCodec} reads. */
export type SessionCodecOptions = Pick<ResolvedOptions, 'serializer' | 'hashSid' | 'onCorruptSession'>;

/** A stored id as `hashSid` makes it: 64 lowercase hex characters (SHA-256 or HMAC-SHA-256). */
const HASHED_ID = /^[0-9a-f]{64}$/;

/**
 * How a session becomes the row's text and back, and a sid the row's id: JSON or the application's serializer (which
 * may encrypt), and the sid as given or hashed. A row that cannot be read is corrupt: `decode` throws an
 * {@link InvalidSessionError} naming it, or with `onCorruptSession: 'delete'` gives `undefined`.
 */
export class SessionCodec {
  readonly #options: SessionCodecOptions;

  constructor(options: SessionCodecOptions) {
    this.#options = options;
  }

  /** The id as stored: the sid itself, or its hash with the `hashSid` option. */
  key(sid: string): string {
    const secret = this.#options.hashSid;
    if (secret === false) return sid;
    return (secret === true ? createHash('sha256') : createHmac('sha256', secret)).update(sid, 'utf8').digest('hex');
  }

  /**
   * Among `sids`, those that may be stored ids a listing gave rather than session ids: with `hashSid`, the ones shaped
   * as `key` makes ids (64 hex characters); without it, none.
   */
  storedIdLookalikes(sids: readonly string[]): string[] {
    if (this.#options.hashSid === false) return [];
    return sids.filter((one) => HASHED_ID.test(one));
  }

  /**
   * The session stored under the id `key` as the `sess` column's text.
   *
   * @throws {InvalidSessionError} when it does not serialise to text (JSON of an object, without a serializer)
   */
  encode(session: SessionData, key: string): string | Promise<string> {
    const serializer = this.#options.serializer;
    return serializer ? serialiseWith(serializer, session, key) : serialise(session);
  }

  /**
   * The session stored under the id `sid`, or `undefined` for a corrupt row when onCorruptSession is 'delete' (else
   * it throws).
   */
  decode(value: unknown, sid: string): SessionData | undefined | Promise<SessionData | undefined> {
    const serializer = this.#options.serializer;
    if (serializer) return deserialiseWith(serializer, value, sid).catch((error: unknown) => this.#corrupt(error));
    try {
      return deserialise(value, sid);
    } catch (error) {
      return this.#corrupt(error);
    }
  }

  /** What a corrupt row decodes to: nothing with onCorruptSession 'delete', else its error. */
  #corrupt(error: unknown): undefined {
    if (this.#options.onCorruptSession === 'delete') return undefined;
    throw error;
  }
}

function serialise(session: SessionData): string {
  let json: unknown;
  try {
    json = JSON.stringify(session);
  } catch (error) {
    throw new InvalidSessionError(`the session cannot be serialised to JSON: ${(error as Error)?.message ?? error}`, {
      cause: error,
    });
  }
  if (typeof json !== 'string' || json[0] !== '{') {
    throw new InvalidSessionError('the session cannot be serialised to JSON: it does not serialise to an object');
  }
  return json;
}

/** The session stored under the id `sid` through the application's serializer, which must give text. */
async function serialiseWith(serializer: Serializer, session: SessionData, sid: string): Promise<string> {
  let text: unknown;
  try {
    text = await serializer.stringify(session, { sid });
  } catch (error) {
    throw new InvalidSessionError(`the serializer's stringify failed: ${reasonOf(error)}`, {
      cause: error,
    });
  }
  if (typeof text !== 'string') {
    throw new InvalidSessionError(`the serializer's stringify must return a string, got ${text === null ? 'null' : typeof text}`);
  }
  return text;
}

function corruptRow(sid: string, problem: string, cause?: unknown): InvalidSessionError {
  return new InvalidSessionError(
    `the stored session ${JSON.stringify(sid)} ${problem} (onCorruptSession: 'delete' treats such rows as missing)`,
    { cause, sid },
  );
}

/** A stored value through the application's serializer: text as stored (a driver's parsed JSON, back to its text). */
async function deserialiseWith(serializer: Serializer, value: unknown, sid: string): Promise<SessionData> {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Buffer.isBuffer(value)) text = value.toString();
  else if (value !== null && typeof value === 'object') text = JSON.stringify(value);
  else throw corruptRow(sid, `holds no text (it holds ${value === null || value === undefined ? 'null' : `a ${typeof value}`})`);
  let parsed: unknown;
  try {
    parsed = await serializer.parse(text, { sid });
  } catch (error) {
    throw corruptRow(sid, `cannot be read by the serializer: ${reasonOf(error)}`, error);
  }
  return checkParsed(parsed, sid);
}

function deserialise(value: unknown, sid: string): SessionData {
  let parsed: unknown = value;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      parsed = JSON.parse(value.toString());
    } catch (error) {
      throw corruptRow(sid, 'is not valid JSON', error);
    }
  }
  return checkParsed(parsed, sid);
}

function checkParsed(parsed: unknown, sid: string): SessionData {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    // A driver may hand back SQL NULL and JSON null alike as null: both read as "null".
    const kind = parsed === null || parsed === undefined ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    throw corruptRow(sid, `is not a JSON object (it holds ${kind})`);
  }
  return parsed as SessionData;
}
