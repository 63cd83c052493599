import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SessionData } from 'express-session';
import { ConfigurationError, InvalidSessionError } from './errors.js';
import { JSON_SERIALIZER, type Serializer, type SerializerContext } from './serializer.js';

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

/**
 * The format tag of the envelopes this version writes; a new format gets a new number, and old readers refuse it.
 * Format 2 authenticates the stored session id with the ciphertext.
 */
export const ENCRYPTION_FORMAT = 'aes-256-gcm:2';
/** The first format, which authenticated the format and key id only: read (see `allowUnbound`), never written. */
const UNBOUND_FORMAT = 'aes-256-gcm:1';

const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Hashed before each key so that the key id is no plain hash of the key, and means nothing outside this format. */
const KEY_ID_LABEL = 'connect-session-knex encryption key id v1\0';
const GENERATE_HINT = `generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;
const KEY_FORMS = 'a 32-byte Buffer, a string of 64 hex characters, or the base64 of 32 bytes';
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** 32 bytes are 43 base64 characters plus one '=' of padding; the URL-safe alphabet is accepted too. */
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=?$|^[A-Za-z0-9_-]{43}=?$/;
const KNOWN_OPTIONS = new Set(['keys', 'serializer', 'allowPlaintext', 'allowUnbound']);

interface Key {
  readonly id: string;
  readonly bytes: Buffer;
}

/** The stored form: valid JSON text, so that it fits a native JSON column as well as a text one. */
interface Envelope {
  csk: string;
  /** Which key encrypted it: a hash prefix, never the key. */
  k: string;
  iv: string;
  t: string;
  d: string;
}

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

  const seal = (plaintext: unknown, sid: string): string => {
    if (typeof plaintext !== 'string') {
      throw new InvalidSessionError(`the serializer's stringify returned ${describe(plaintext)}, not a string: nothing to encrypt`);
    }
    // A fresh random IV per write: GCM's guarantees hold only while no (key, IV) pair repeats, and with 96 random
    // bits a repeat stays negligible up to about 2^32 writes under one key; hence the README's advice to rotate.
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, writeKey.bytes, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(ENCRYPTION_FORMAT, writeKey.id, sid));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const envelope: Envelope = {
      csk: ENCRYPTION_FORMAT,
      k: writeKey.id,
      iv: iv.toString('base64'),
      t: cipher.getAuthTag().toString('base64'),
      d: data.toString('base64'),
    };
    return JSON.stringify(envelope);
  };

  return Object.freeze({
    stringify(session: SessionData, context?: SerializerContext): string | Promise<string> {
      const sid = storedId(context);
      return then(inner.stringify(session, context), (plaintext) => seal(plaintext, sid));
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

function checkKeys(value: unknown): Key[] {
  if (!Array.isArray(value) || value.length === 0) {
    const got = Array.isArray(value) ? 'an empty array' : describe(value);
    throw new ConfigurationError(
      'keys',
      `must be a non-empty array of keys, newest first (each ${KEY_FORMS}), got ${got}; ${GENERATE_HINT}`,
    );
  }
  const keys: Key[] = [];
  value.forEach((raw: unknown, index) => {
    const bytes = keyBytes(raw, index);
    const duplicate = keys.findIndex((key) => key.bytes.equals(bytes));
    if (duplicate !== -1) {
      // Likely a copy-paste slip, and a rotation that does not rotate: better said at startup.
      throw new ConfigurationError('keys', `keys[${index}] is the same key as keys[${duplicate}]: list each key once`);
    }
    keys.push({ id: keyId(bytes), bytes });
  });
  return keys;
}

function keyBytes(raw: unknown, index: number): Buffer {
  // Never echo the value: it is, or is close to, a secret.
  const refuse = (got: string): never => {
    throw new ConfigurationError('keys', `keys[${index}] must be ${KEY_FORMS}, got ${got}; ${GENERATE_HINT}`);
  };
  if (raw instanceof Uint8Array) {
    if (raw.length !== KEY_BYTES) refuse(`${raw.length} bytes`);
    // A copy: the caller zeroing or reusing its buffer must not change the key under the store.
    return Buffer.from(raw);
  }
  if (typeof raw === 'string') {
    if (HEX_KEY.test(raw)) return Buffer.from(raw, 'hex');
    if (BASE64_KEY.test(raw)) {
      const bytes = Buffer.from(raw, raw.includes('-') || raw.includes('_') ? 'base64url' : 'base64');
      if (bytes.length === KEY_BYTES) return bytes;
    }
    return refuse(`a string of ${raw.length} characters that is neither`);
  }
  return refuse(describe(raw));
}

function keyId(bytes: Buffer): string {
  return createHash('sha256').update(KEY_ID_LABEL).update(bytes).digest('hex').slice(0, 8);
}

/**
 * What GCM authenticates beside the ciphertext: the format, so that a value cannot be passed off as another format;
 * the key id, so that an altered `k` fails like any other alteration; and from format 2 on, the stored session id,
 * so that an envelope copied into another session's row fails too. NUL separates them: no stored id holds one.
 */
function associatedData(format: string, id: string, sid: string): Buffer {
  return Buffer.from(format === UNBOUND_FORMAT ? `${format}\0${id}` : `${format}\0${id}\0${sid}`, 'utf8');
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

/**
 * The envelope in `text`, or `undefined` when `text` is no envelope at all (plaintext from before encryption). An
 * envelope that is malformed, or of another format version, throws: it is damaged, not legacy.
 */
function readEnvelope(text: string): Envelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('csk' in value)) return undefined;
  const fields = value as Record<string, unknown>;
  if (fields.csk !== ENCRYPTION_FORMAT && fields.csk !== UNBOUND_FORMAT) {
    const version = typeof fields.csk === 'string' ? JSON.stringify(fields.csk.slice(0, 40)) : describe(fields.csk);
    throw new InvalidSessionError(
      `the session could not be decrypted: its format ${version} is neither ${JSON.stringify(ENCRYPTION_FORMAT)} ` +
        `nor ${JSON.stringify(UNBOUND_FORMAT)}, the ones this version reads (written by a newer version, or altered)`,
    );
  }
  for (const field of ['k', 'iv', 't', 'd'] as const) {
    if (typeof fields[field] !== 'string') {
      throw new InvalidSessionError(`the session could not be decrypted: its envelope lacks the field "${field}" (altered or truncated)`);
    }
  }
  return fields as unknown as Envelope;
}

/**
 * The plaintext of `envelope`, stored under the id `sid`, with the key its id names (every such key: two keys may
 * share a 32-bit id). No other key is tried: the id is authenticated (see {@link associatedData}), so no other key
 * could succeed.
 */
function open(envelope: Envelope, keys: readonly Key[], sid: string): string {
  const iv = strictBase64(envelope.iv);
  const tag = strictBase64(envelope.t);
  const data = strictBase64(envelope.d);
  // A short tag would make forgery easier; Node accepts tags down to 4 bytes unless told the length, so check.
  if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || data === undefined) {
    throw new InvalidSessionError(
      'the session could not be decrypted: its envelope is malformed (iv, tag or data of the wrong size or not base64; altered or truncated)',
    );
  }
  const candidates = keys.filter((key) => key.id === envelope.k);
  const aad = associatedData(envelope.csk, envelope.k, sid);
  for (const key of candidates) {
    try {
      const decipher = createDecipheriv(CIPHER, key.bytes, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    } catch {
      // Authentication failed with this key: try the next.
    }
  }
  const unknownKey =
    candidates.length === 0 ? `; it names key id ${JSON.stringify(envelope.k.slice(0, 16))}, which no configured key has` : '';
  throw new InvalidSessionError(
    'the session could not be decrypted: no configured key authenticates it under its session id (a wrong or ' +
      `removed key, a value tampered with, or one copied from another session's row)${unknownKey}`,
  );
}

/** `text` decoded as canonical base64, or `undefined`: lenient decoding would let altered text through unnoticed. */
function strictBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function then<T, R>(value: T | Promise<T>, next: (value: T) => R): R | Promise<R> {
  // Stay synchronous when the inner serializer is: the default JSON one costs no extra tick.
  return value !== null && typeof (value as { then?: unknown } | undefined)?.then === 'function'
    ? Promise.resolve(value).then(next)
    : next(value as T);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
