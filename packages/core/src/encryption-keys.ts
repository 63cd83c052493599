import { createHash } from 'node:crypto';
import { ConfigurationError } from './errors.js';
import { describe } from './value-kind.js';

const KEY_BYTES = 32;
/** Hashed before each key so that the key id is no plain hash of the key, and means nothing outside this format. */
const KEY_ID_LABEL = 'connect-session-knex encryption key id v1\0';
export const GENERATE_HINT = `generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;
const KEY_FORMS = 'a 32-byte Buffer, a string of 64 hex characters, or the base64 of 32 bytes';
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** 32 bytes are 43 base64 characters plus one '=' of padding; the URL-safe alphabet is accepted too. */
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=?$|^[A-Za-z0-9_-]{43}=?$/;

/** A key of the `keys` option: its bytes, and the id that envelopes name it by. */
export interface Key {
  readonly id: string;
  readonly bytes: Buffer;
}

export function checkKeys(value: unknown): Key[] {
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
