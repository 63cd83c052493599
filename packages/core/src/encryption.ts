import type { SessionData } from 'express-session';
import { ENCRYPTION_FORMAT, UNBOUND_FORMAT, open, readEnvelope, seal } from './encryption-envelope.js';
import { GENERATE_HINT, checkKeys } from './encryption-keys.js';
import { ConfigurationError, InvalidSessionError } from './errors.js';
import { JSON_SERIALIZER, type Serializer, type SerializerContext } from './serializer.js';
import { describe } from './value-kind.js';

export { ENCRYPTION_FORMAT };

/** The options of {@link createEncryptedSerializer}. */
export interface EncryptedSerializerOptions {
  /**
   * The AES-256 keys, newest first: new sessions are encrypted with the first, reads accept any of them (key
   * rotation). Each is a 32-byte Buffer, a string of 64 hex characters, or the base64 of 32 bytes. Generate one with
   * `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`.
   */
  keys: ReadonlyArray<Buffer | Uint8Array | string>;
  /** How the session becomes the plaintext that is encrypted. Default: JSON. */
  serializer?: Serializer;
  /**
   * Read rows that are not encrypted (written before encryption was switched on) with `serializer`, instead of
   * failing them; the next write of such a session encrypts it. Default `false`. While on, anyone who can write to
   * the table can plant a plaintext session: switch it off once every old session has expired (one `ttl`).
   */
  allowPlaintext?: boolean;
  /**
   * Read envelopes of the first format (`aes-256-gcm:1`, written before 6.0), which are not bound to their session
   * id; the next `set` of such a session writes it in the current format. Default `true`, so that an upgrade keeps
   * every session. While on, anyone who can write to the table and holds a copy of a first-format envelope (a live
   * row, a backup) can plant it in another session's row: switch it off once every such session has been written
   * again or has expired (one `ttl`), or rotate the key.
   */
  allowUnbound?: boolean;
}

const KNOWN_OPTIONS = new Set(['keys', 'serializer', 'allowPlaintext', 'allowUnbound']);

/**
 * A {@link Serializer} that encrypts each session with AES-256-GCM (node:crypto) before it reaches the database, and
 * authenticates it on the way back: a row altered in the database, written under a key that is not in `keys`, or
 * copied from another session's row, fails to read with an error instead of yielding a session. Pass it as the
 * store's `serializer` option: the store gives it each session's stored id (see {@link SerializerContext}), which it
 * authenticates as GCM's additional data; called without one, it refuses.
 *
 * ```ts
 * new KnexStore({ knex, serializer: createEncryptedSerializer({ keys: [process.env.SESSION_KEY!] }) });
 * ```
 *
 * The envelope is JSON text: `{"csk":"aes-256-gcm:2","k":"<key id>","iv":"…","t":"…","d":"…"}`. It hides the
 * contents of sessions, not their ids (see the store's `hashSid` option) nor their expiry column, which it does not
 * authenticate (a `touch` moves it without rewriting the envelope), and it cannot tell a current row from an older
 * copy of the same session's row written back (see the README's threat model).
 */
export function createEncryptedSerializer(options: EncryptedSerializerOptions): Serializer {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigurationError('keys', `must be given: call createEncryptedSerializer({ keys: [key] }); ${GENERATE_HINT}`);
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) {
      throw new ConfigurationError(name, `is not an option of createEncryptedSerializer (it takes keys, serializer, allowPlaintext)`);
    }
  }
  const keys = checkKeys(options.keys);
  const inner = checkSerializer(options.serializer);
  const allowPlaintext = flag(options, 'allowPlaintext', false);
  const allowUnbound = flag(options, 'allowUnbound', true);
  const writeKey = keys[0]!;

  const sealPlaintext = (plaintext: unknown, sid: string): string => {
    if (typeof plaintext !== 'string') {
      throw new InvalidSessionError(`the serializer's stringify returned ${describe(plaintext)}, not a string: nothing to encrypt`);
    }
    return seal(plaintext, writeKey, sid);
  };

  return Object.freeze({
    stringify(session: SessionData, context?: SerializerContext): string | Promise<string> {
      const sid = storedId(context);
      return then(inner.stringify(session, context), (plaintext) => sealPlaintext(plaintext, sid));
    },
    parse(text: string, context?: SerializerContext): SessionData | Promise<SessionData> {
      const sid = storedId(context);
      const source = asText(text);
      const envelope = readEnvelope(source);
      if (envelope === undefined) {
        if (allowPlaintext) return inner.parse(source, context);
        throw new InvalidSessionError(
          'the session is not encrypted (it is no encrypted-session envelope): it was written before ' +
            'encryption was switched on, or by something else; createEncryptedSerializer({ allowPlaintext: true }) reads such rows',
        );
      }
      if (envelope.csk === UNBOUND_FORMAT && !allowUnbound) {
        throw new InvalidSessionError(
          `the session could not be decrypted: its format ${JSON.stringify(UNBOUND_FORMAT)} is not bound to its ` +
            'session id and allowUnbound is false (a session written before 6.0 and not since, or a planted copy)',
        );
      }
      return inner.parse(open(envelope, keys, sid), context);
    },
  });
}

function flag(options: EncryptedSerializerOptions, name: 'allowPlaintext' | 'allowUnbound', fallback: boolean): boolean {
  const value = options[name] ?? fallback;
  if (typeof value !== 'boolean') throw new ConfigurationError(name, `must be a boolean, got ${describe(value)}`);
  return value;
}

/** The stored id the store passes in `context`: without it, nothing can be bound to its session. */
function storedId(context: SerializerContext | undefined): string {
  const sid = (context as { sid?: unknown } | null | undefined)?.sid;
  if (typeof sid === 'string' && sid.length > 0 && !sid.includes('\0')) return sid;
  throw new InvalidSessionError(
    "the encrypting serializer needs the session's stored id ({ sid }) as its second argument, which the store " +
      'passes: a serializer wrapping it must pass its context on',
  );
}

function checkSerializer(value: unknown): Serializer {
  if (value === undefined) return JSON_SERIALIZER;
  const candidate = value as Partial<Serializer> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.stringify !== 'function' ||
    typeof candidate.parse !== 'function'
  ) {
    throw new ConfigurationError('serializer', `must be an object with stringify and parse functions, got ${describe(value)}`);
  }
  return candidate as Serializer;
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  // A driver that parses JSON columns itself hands back the envelope as an object.
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return JSON.stringify(value);
  throw new InvalidSessionError(`the session is ${describe(value)}, not text: it cannot be decrypted`);
}

function then<T, R>(value: T | Promise<T>, next: (value: T) => R): R | Promise<R> {
  // Stay synchronous when the inner serializer is: the default JSON one costs no extra tick.
  return value !== null && typeof (value as { then?: unknown } | undefined)?.then === 'function'
    ? Promise.resolve(value).then(next)
    : next(value as T);
}
