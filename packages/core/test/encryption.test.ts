import { createCipheriv, randomBytes } from 'node:crypto';
import type { SessionData } from 'express-session';
import { createEncryptedSerializer, ENCRYPTION_FORMAT } from '../src/encryption.js';
import { InvalidSessionError } from '../src/errors.js';
import type { Serializer, SerializerContext } from '../src/serializer.js';
import { configurationError } from './support/errors.js';

const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
const MARKER = 'plaintext-marker-7d1f';
/** What the store passes with every call: the session's stored id. */
const CONTEXT = { sid: 'stored-id-1' };

function session(extra: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: 60_000, expires: '2030-01-01T00:00:00.000Z' }, marker: MARKER, ...extra } as unknown as SessionData;
}

async function seal(serializer: Serializer, value: SessionData = session()): Promise<string> {
  return await serializer.stringify(value, CONTEXT);
}

async function parseError(serializer: Serializer, text: string): Promise<InvalidSessionError> {
  return parseError2(serializer, text, CONTEXT);
}

async function parseError2(serializer: Serializer, text: string, context: SerializerContext): Promise<InvalidSessionError> {
  try {
    await serializer.parse(text, context);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSessionError);
    return error as InvalidSessionError;
  }
  throw new Error('parse succeeded');
}

/** The envelope with one field replaced. */
function withField(text: string, field: string, value: unknown): string {
  return JSON.stringify({ ...JSON.parse(text), [field]: value });
}

/** The base64 `text` with one bit of its first byte flipped. */
function flipBit(base64: string, byte = 0): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[byte] = bytes[byte]! ^ 0x01;
  return bytes.toString('base64');
}

describe('round trip', () => {
  it('gives back the session, and stores JSON text that holds none of it', async () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A] });
    const text = await seal(serializer);
    expect(text).not.toContain(MARKER);
    const envelope = JSON.parse(text) as Record<string, string>;
    expect(Object.keys(envelope).sort()).toEqual(['csk', 'd', 'iv', 'k', 't']);
    expect(envelope.csk).toBe(ENCRYPTION_FORMAT);
    expect(envelope.k).toMatch(/^[0-9a-f]{8}$/);
    expect(Buffer.from(envelope.iv!, 'base64')).toHaveLength(12);
    expect(Buffer.from(envelope.t!, 'base64')).toHaveLength(16);
    expect(await serializer.parse(text, CONTEXT)).toEqual(session());
  });

  it('is synchronous with the default inner serializer', () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A] });
    const text = serializer.stringify(session(), CONTEXT);
    expect(typeof text).toBe('string');
    expect(serializer.parse(text as string, CONTEXT)).toEqual(session());
  });

  it('keeps unicode intact', async () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A] });
    const value = session({ name: 'Zoë 日本語 🚀 \u0000 \u2028 ﻿', nested: { 'ключ': ['é', '𝄞'] } });
    expect(await serializer.parse(await seal(serializer, value), CONTEXT)).toEqual(value);
  });

  it('carries a 5 MB session', async () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A] });
    const value = session({ blob: 'x€'.repeat(5 * 1024 * 1024 / 4) });
    const text = await seal(serializer, value);
    expect(await serializer.parse(text, CONTEXT)).toEqual(value);
  });

  it('uses a fresh IV for every write, so one session never encrypts the same way twice', async () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A] });
    const ivs = new Set<string>();
    const data = new Set<string>();
    for (let index = 0; index < 1000; index += 1) {
      const envelope = JSON.parse(await seal(serializer)) as Record<string, string>;
      ivs.add(envelope.iv!);
      data.add(envelope.d!);
    }
    expect(ivs.size).toBe(1000);
    expect(data.size).toBe(1000);
  });

  it('wraps a custom inner serializer, sync or async', async () => {
    const inner: Serializer = {
      stringify: async (value) => `v1:${JSON.stringify(value)}`,
      parse: async (text) => JSON.parse(text.slice(3)) as SessionData,
    };
    const serializer = createEncryptedSerializer({ keys: [KEY_A], serializer: inner });
    const text = await seal(serializer);
    expect(text).not.toContain('v1:');
    expect(await serializer.parse(text, CONTEXT)).toEqual(session());
  });

  it('refuses an inner serializer whose stringify returns no string', async () => {
    const inner = { stringify: () => 42, parse: JSON.parse } as unknown as Serializer;
    const serializer = createEncryptedSerializer({ keys: [KEY_A], serializer: inner });
    expect(() => serializer.stringify(session(), CONTEXT)).toThrow(/returned a number, not a string/);
  });
});

describe('key rotation', () => {
  it('reads values written under an older key listed after the new one', async () => {
    const old = createEncryptedSerializer({ keys: [KEY_A] });
    const rotated = createEncryptedSerializer({ keys: [KEY_B, KEY_A] });
    expect(await rotated.parse(await seal(old), CONTEXT)).toEqual(session());
  });

  it('writes with the first key', async () => {
    const rotated = createEncryptedSerializer({ keys: [KEY_B, KEY_A] });
    const text = await seal(rotated);
    expect(JSON.parse(text).k).toBe(JSON.parse(await seal(createEncryptedSerializer({ keys: [KEY_B] }))).k);
    expect(await createEncryptedSerializer({ keys: [KEY_B] }).parse(text, CONTEXT)).toEqual(session());
    await expect(async () => createEncryptedSerializer({ keys: [KEY_A] }).parse(text, CONTEXT)).rejects.toThrow(InvalidSessionError);
  });

  it('fails clearly once the old key is dropped', async () => {
    const text = await seal(createEncryptedSerializer({ keys: [KEY_A] }));
    const error = await parseError(createEncryptedSerializer({ keys: [KEY_B] }), text);
    expect(error.message).toMatch(/could not be decrypted/);
    expect(error.message).toMatch(/wrong or removed key/);
    expect(error.message).toContain(`key id "${JSON.parse(text).k}"`);
  });

  it('gives each key a stable id that is not the key', async () => {
    const one = JSON.parse(await seal(createEncryptedSerializer({ keys: [KEY_A] }))).k;
    const two = JSON.parse(await seal(createEncryptedSerializer({ keys: [KEY_A.toString('hex')] }))).k;
    expect(one).toBe(two);
    expect(KEY_A.toString('hex')).not.toContain(one);
  });
});

describe('tampering', () => {
  const serializer = createEncryptedSerializer({ keys: [KEY_B, KEY_A] });
  let text: string;
  beforeAll(async () => {
    text = await seal(serializer);
  });

  const mutations: Array<[string, (envelope: Record<string, string>) => string]> = [
    ['a bit of the ciphertext', (e) => withField(text, 'd', flipBit(e.d!, 5))],
    ['a bit of the tag', (e) => withField(text, 't', flipBit(e.t!))],
    ['a bit of the IV', (e) => withField(text, 'iv', flipBit(e.iv!))],
    ['a bit of the key id', (e) => withField(text, 'k', (parseInt(e.k!, 16) ^ 1).toString(16).padStart(8, '0'))],
    ['the key id, to another configured key', () => withField(text, 'k', JSON.parse(seal0A).k)],
    ['a truncated tag', (e) => withField(text, 't', Buffer.from(e.t!, 'base64').subarray(0, 12).toString('base64'))],
    ['a truncated ciphertext', (e) => withField(text, 'd', Buffer.from(e.d!, 'base64').subarray(1).toString('base64'))],
    ['non-canonical base64', (e) => withField(text, 'd', `${e.d!}\n`)],
    ['a missing field', (e) => JSON.stringify({ ...e, t: undefined })],
  ];
  let seal0A: string;
  beforeAll(async () => {
    seal0A = await seal(createEncryptedSerializer({ keys: [KEY_A] }));
  });

  it.each(mutations)('of %s fails as a session that could not be decrypted', async (_label, mutate) => {
    const tampered = mutate(JSON.parse(text));
    expect(tampered).not.toBe(text);
    const error = await parseError(serializer, tampered);
    expect(error.message).toMatch(/could not be decrypted/);
    expect(error.message).not.toContain(MARKER);
    expect(error.message).not.toContain(KEY_A.toString('base64'));
  });

  it.each([['aes-256-gcm:0'], ['aes-256-gcm:3'], ['aes-128-gcm:2'], [2]])('of the format to %p fails clearly', async (format) => {
    const error = await parseError(serializer, withField(text, 'csk', format));
    expect(error.message).toMatch(/could not be decrypted: its format .* is neither "aes-256-gcm:2" nor "aes-256-gcm:1"/);
  });

  it('of the format down to the first, unbound one fails authentication', async () => {
    const error = await parseError(serializer, withField(text, 'csk', 'aes-256-gcm:1'));
    expect(error.message).toMatch(/no configured key authenticates it/);
  });

  it('binds the format into the authentication, so a relabelled value does not decrypt', async () => {
    // The associated data is the format and the key id: the same ciphertext under another format label must fail
    // authentication even for a reader that accepted that label. Simulated by checking the tag over the AAD.
    const { createDecipheriv } = await import('node:crypto');
    const envelope = JSON.parse(text) as Record<string, string>;
    const tryAad = (aad: string): boolean => {
      const decipher = createDecipheriv('aes-256-gcm', KEY_B, Buffer.from(envelope.iv!, 'base64'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(envelope.t!, 'base64'));
      decipher.update(Buffer.from(envelope.d!, 'base64'));
      try {
        decipher.final();
        return true;
      } catch {
        return false;
      }
    };
    expect(tryAad(`aes-256-gcm:2\0${envelope.k}\0${CONTEXT.sid}`)).toBe(true);
    expect(tryAad(`aes-256-gcm:1\0${envelope.k}\0${CONTEXT.sid}`)).toBe(false);
    expect(tryAad(`aes-256-gcm:2\0${envelope.k}`)).toBe(false);
    expect(tryAad('')).toBe(false);
  });
});

/** An envelope of the first format (before 6.0): the same AES-256-GCM, authenticating the format and key id only. */
function firstFormat(key: Buffer, value: SessionData, keyId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(`aes-256-gcm:1\0${keyId}`));
  const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return JSON.stringify({ csk: 'aes-256-gcm:1', k: keyId, iv: iv.toString('base64'), t: cipher.getAuthTag().toString('base64'), d: data.toString('base64') });
}

describe('binding to the session id', () => {
  const serializer = createEncryptedSerializer({ keys: [KEY_A] });

  it("refuses an envelope moved to another session's row", async () => {
    const text = await serializer.stringify(session(), { sid: 'victim' });
    expect(await serializer.parse(text, { sid: 'victim' })).toEqual(session());
    const error = await parseError2(serializer, text, { sid: 'attacker' });
    expect(error.message).toMatch(/no configured key authenticates it under its session id/);
    expect(error.message).not.toContain(MARKER);
  });

  it('tells ids apart that differ only in where a separator would fall', async () => {
    const text = await serializer.stringify(session(), { sid: 'ab' });
    await parseError2(serializer, text, { sid: 'a\u0000b' });
    await parseError2(serializer, text, { sid: 'AB' });
  });

  it.each([
    ['no context', undefined],
    ['an empty sid', { sid: '' }],
    ['a sid that is no string', { sid: 7 }],
  ])('refuses to seal or open with %s, saying a wrapper must pass the context on', async (_label, context) => {
    expect(() => serializer.stringify(session(), context as never)).toThrow(/needs the session's stored id/);
    const text = await seal(serializer);
    expect(() => serializer.parse(text, context as never)).toThrow(/needs the session's stored id/);
  });

  it('passes the context to the inner serializer', async () => {
    const seen: unknown[] = [];
    const inner: Serializer = {
      stringify: (value, context) => (seen.push(context), JSON.stringify(value)),
      parse: (text, context) => (seen.push(context), JSON.parse(text) as SessionData),
    };
    const wrapping = createEncryptedSerializer({ keys: [KEY_A], serializer: inner });
    await wrapping.parse(await seal(wrapping), CONTEXT);
    expect(seen).toEqual([CONTEXT, CONTEXT]);
  });
});

describe('first-format envelopes (before 6.0)', () => {
  const keyId = JSON.parse(createEncryptedSerializer({ keys: [KEY_A] }).stringify(session(), CONTEXT) as string).k as string;

  it('are read by default, under any stored id, and the next write binds them', async () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A] });
    const old = firstFormat(KEY_A, session(), keyId);
    expect(await serializer.parse(old, CONTEXT)).toEqual(session());
    const rewritten = JSON.parse(await seal(serializer, await serializer.parse(old, CONTEXT)));
    expect(rewritten.csk).toBe('aes-256-gcm:2');
  });

  it('still fail when altered', async () => {
    const old = JSON.parse(firstFormat(KEY_A, session(), keyId));
    const error = await parseError(createEncryptedSerializer({ keys: [KEY_A] }), JSON.stringify({ ...old, d: flipBit(old.d, 2) }));
    expect(error.message).toMatch(/could not be decrypted/);
  });

  it('are refused with allowUnbound: false', async () => {
    const error = await parseError(createEncryptedSerializer({ keys: [KEY_A], allowUnbound: false }), firstFormat(KEY_A, session(), keyId));
    expect(error.message).toMatch(/"aes-256-gcm:1" is not bound to its session id and allowUnbound is false/);
  });

  it('refuses an allowUnbound that is no boolean', () => {
    expect(configurationError(() => createEncryptedSerializer({ keys: [KEY_A], allowUnbound: 1 as never })).option).toBe('allowUnbound');
  });
});

describe('plaintext rows', () => {
  const plain = JSON.stringify(session());

  it.each([
    ['legacy JSON', plain],
    ['not JSON', 'garbage'],
    ['a JSON array', '[1,2]'],
  ])('are refused by default (%s)', async (_label, text) => {
    const error = await parseError(createEncryptedSerializer({ keys: [KEY_A] }), text);
    expect(error.message).toMatch(/is not encrypted/);
    expect(error.message).toMatch(/allowPlaintext: true/);
    expect(error.message).not.toContain(MARKER);
  });

  it('are read with allowPlaintext, and the next write encrypts', async () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A], allowPlaintext: true });
    const value = await serializer.parse(plain, CONTEXT);
    expect(value).toEqual(session());
    expect(await seal(serializer, value)).not.toContain(MARKER);
  });

  it('still authenticate encrypted rows with allowPlaintext', async () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A], allowPlaintext: true });
    const text = await seal(serializer);
    const error = await parseError(serializer, withField(text, 'd', flipBit(JSON.parse(text).d, 3)));
    expect(error.message).toMatch(/could not be decrypted/);
  });

  it('accept an envelope a driver already parsed, or a Buffer', async () => {
    const serializer = createEncryptedSerializer({ keys: [KEY_A] });
    const text = await seal(serializer);
    expect(await serializer.parse(JSON.parse(text) as string, CONTEXT)).toEqual(session());
    expect(await serializer.parse(Buffer.from(text) as unknown as string, CONTEXT)).toEqual(session());
  });
});

describe('configuration', () => {
  const hint = `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;

  it('accepts a Buffer, 64 hex characters, base64 and base64url of 32 bytes, all the same key', async () => {
    const text = await seal(createEncryptedSerializer({ keys: [KEY_A] }));
    for (const form of [
      KEY_A.toString('hex'),
      KEY_A.toString('hex').toUpperCase(),
      KEY_A.toString('base64'),
      KEY_A.toString('base64').replace(/=$/, ''),
      KEY_A.toString('base64url'),
      new Uint8Array(KEY_A),
    ]) {
      expect(await createEncryptedSerializer({ keys: [form] }).parse(text, CONTEXT)).toEqual(session());
    }
  });

  it.each([
    ['a 16-byte Buffer', randomBytes(16)],
    ['a 33-byte Buffer', randomBytes(33)],
    ['a passphrase', 'correct horse battery staple'],
    ['63 hex characters', KEY_A.toString('hex').slice(1)],
    ['the base64 of 24 bytes', randomBytes(24).toString('base64')],
    ['the base64 of 33 bytes', randomBytes(33).toString('base64')],
    ['an empty string', ''],
    ['a number', 42],
    ['null', null],
    ['an object', { key: KEY_A }],
  ])('refuses %s as a key, saying what is expected and how to make one', (_label, key) => {
    const error = configurationError(() => createEncryptedSerializer({ keys: [KEY_B, key as string] }));
    expect(error.option).toBe('keys');
    expect(error.message).toContain('keys[1] must be a 32-byte Buffer, a string of 64 hex characters, or the base64 of 32 bytes');
    expect(error.message).toContain(hint);
    if (typeof key === 'string' && key !== '') expect(error.message).not.toContain(key);
  });

  it.each([
    ['no keys', []],
    ['keys not in an array', KEY_A],
    ['undefined keys', undefined],
  ])('refuses %s', (_label, keys) => {
    const error = configurationError(() => createEncryptedSerializer({ keys: keys as Buffer[] }));
    expect(error.option).toBe('keys');
    expect(error.message).toMatch(/must be a non-empty array of keys/);
    expect(error.message).toContain(hint);
  });

  it('refuses a key listed twice, in any form', () => {
    const error = configurationError(() => createEncryptedSerializer({ keys: [KEY_A, KEY_B, KEY_A.toString('base64')] }));
    expect(error.message).toMatch(/keys\[2\] is the same key as keys\[0\]/);
  });

  it('refuses a missing options object, a bad serializer, a non-boolean allowPlaintext and unknown options', () => {
    expect(configurationError(() => createEncryptedSerializer(undefined as never)).option).toBe('keys');
    expect(configurationError(() => createEncryptedSerializer({ keys: [KEY_A], serializer: { stringify: () => '' } as never })).option).toBe(
      'serializer',
    );
    expect(configurationError(() => createEncryptedSerializer({ keys: [KEY_A], serializer: null as never })).option).toBe(
      'serializer',
    );
    expect(configurationError(() => createEncryptedSerializer({ keys: [KEY_A], allowPlaintext: 'yes' as never })).option).toBe(
      'allowPlaintext',
    );
    expect(configurationError(() => createEncryptedSerializer({ keys: [KEY_A], key: KEY_B } as never)).option).toBe('key');
  });

  it('keeps its own copy of a Buffer key', async () => {
    const key = Buffer.from(KEY_A);
    const serializer = createEncryptedSerializer({ keys: [key] });
    key.fill(0);
    const text = await seal(serializer);
    expect(await createEncryptedSerializer({ keys: [KEY_A] }).parse(text, CONTEXT)).toEqual(session());
  });
});
