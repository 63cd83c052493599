import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Key } from './encryption-keys.js';
import { InvalidSessionError } from './errors.js';
import { describe } from './value-kind.js';

/**
 * The format tag of the envelopes this version writes; a new format gets a new number, and old readers refuse it.
 * Format 2 authenticates the stored session id with the ciphertext.
 */
export const ENCRYPTION_FORMAT = 'aes-256-gcm:2';
/** The first format, which authenticated the format and key id only: read (see `allowUnbound`), never written. */
export const UNBOUND_FORMAT = 'aes-256-gcm:1';

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The stored form: valid JSON text, so that it fits a native JSON column as well as a text one. */
export interface Envelope {
  csk: string;
  /** Which key encrypted it: a hash prefix, never the key. */
  k: string;
  iv: string;
  t: string;
  d: string;
}

/** The envelope of `plaintext`, encrypted under `key` and bound to the stored id `sid`, as JSON text. */
export function seal(plaintext: string, key: Key, sid: string): string {
  // A fresh random IV per write: GCM's guarantees hold only while no (key, IV) pair repeats, and with 96 random
  // bits a repeat stays negligible up to about 2^32 writes under one key; hence the README's advice to rotate.
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key.bytes, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(ENCRYPTION_FORMAT, key.id, sid));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const envelope: Envelope = {
    csk: ENCRYPTION_FORMAT,
    k: key.id,
    iv: iv.toString('base64'),
    t: cipher.getAuthTag().toString('base64'),
    d: data.toString('base64'),
  };
  return JSON.stringify(envelope);
}

/**
 * What GCM authenticates beside the ciphertext: the format, so that a value cannot be passed off as another format;
 * the key id, so that an altered `k` fails like any other alteration; and from format 2 on, the stored session id,
 * so that an envelope copied into another session's row fails too. NUL separates them: no stored id holds one.
 */
function associatedData(format: string, id: string, sid: string): Buffer {
  return Buffer.from(format === UNBOUND_FORMAT ? `${format}\0${id}` : `${format}\0${id}\0${sid}`, 'utf8');
}

/**
 * The envelope in `text`, or `undefined` when `text` is no envelope at all (plaintext from before encryption). An
 * envelope that is malformed, or of another format version, throws: it is damaged, not legacy.
 */
export function readEnvelope(text: string): Envelope | undefined {
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
export function open(envelope: Envelope, keys: readonly Key[], sid: string): string {
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
