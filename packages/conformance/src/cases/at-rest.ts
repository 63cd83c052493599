import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createEncryptedSerializer, type EncryptedSerializerOptions, type KnexStore, type KnexStoreOptions } from '@csk/core';
import { useScope, type Scope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, errorName, expectInvalidSessionRead, liveSession, roundTrip, sessionExpiringAt, withCallback } from '../util.js';
import { expectExpiryWithin } from './touch.js';

const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
/** Planted in every session: it must never appear in a raw row. */
const MARKER = 'at-rest-marker-Zoë-🔒';

/** Every column of every row of a table as JSON text, read with knex only: what a leaked table would show. */
async function rawTable(scope: Scope, tableName?: string): Promise<string> {
  const rows = (await scope.table(tableName).select()) as Array<Record<string, unknown>>;
  return JSON.stringify(rows.map((row) => Object.values(row).map((value) => (Buffer.isBuffer(value) ? value.toString() : value))));
}

/** The raw row of `key` with one bit of its ciphertext flipped, written back directly. */
async function tamper(scope: Scope, key: string): Promise<void> {
  const row = await scope.readRow(key);
  const envelope = row?.sess as Record<string, string>;
  expect(typeof envelope?.d).toBe('string');
  const data = Buffer.from(envelope.d!, 'base64');
  data[0] = data[0]! ^ 0x01;
  await scope
    .table()
    .where(scope.sidColumn, key)
    .update({ sess: JSON.stringify({ ...envelope, d: data.toString('base64') }) });
}

/** Copy the stored session of `from` into the row of `to`, as anyone who can write to the table could. */
async function transplant(scope: Scope, from: string, to: string): Promise<void> {
  const row = await scope.readRow(from);
  await scope.table().where(scope.sidColumn, to).update({ sess: JSON.stringify(row?.sess) });
}

/** An envelope of the first format (before 6.0), which authenticated the format and key id but not the session. */
function firstFormatEnvelope(key: Buffer, keyId: string, session: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(`aes-256-gcm:1\0${keyId}`, 'utf8'));
  const data = Buffer.concat([cipher.update(JSON.stringify(session), 'utf8'), cipher.final()]);
  const [ivText, tag, d] = [iv, cipher.getAuthTag(), data].map((bytes) => bytes.toString('base64'));
  return JSON.stringify({ csk: 'aes-256-gcm:1', k: keyId, iv: ivText, t: tag, d });
}

async function expectUndecryptable(store: KnexStore, sid: string): Promise<void> {
  const { message } = await expectInvalidSessionRead(store, sid);
  expect(message).toMatch(/could not be decrypted|is not encrypted/);
  expect(message).not.toContain(MARKER);
}

/**
 * Encryption at rest: sessions stored through `createEncryptedSerializer` hold no plaintext and fail clearly when
 * altered or unreadable; with `hashSid` the table holds no session id in clear, and every method still finds its row.
 * Everything is checked against the raw table, read with knex.
 */
export function atRestCases(ctx: SuiteContext): void {
  describe('at rest', () => {
    describe('with an encrypting serializer', () => {
      const encrypted = (
        keys: Buffer[],
        extra: Partial<KnexStoreOptions> = {},
        options: Partial<EncryptedSerializerOptions> = {},
      ): Partial<KnexStoreOptions> => ({
        serializer: createEncryptedSerializer({ keys, ...options }),
        ...extra,
      });
      const scope = useScope(ctx, { label: 'encrypted', storeOptions: encrypted([KEY_A]) });

      it('round-trips sessions through get and all, and the raw row holds none of their contents', async () => {
        await scope.empty();
        const sid = scope.sid('enc');
        const session = liveSession({ secret: MARKER, nested: { list: [1, 'two', { three: 3 }] } });
        await scope.store.set(sid, session);
        await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
        await expect(scope.store.all()).resolves.toEqual([roundTrip(session)]);
        await expect(scope.store.allById()).resolves.toEqual({ [sid]: roundTrip(session) });
        const raw = await rawTable(scope);
        expect(raw).toContain(sid);
        expect(raw).not.toContain(MARKER);
        expect(raw).not.toContain('nested');
        expect((await scope.readRow(sid))?.sess).toMatchObject({ csk: 'aes-256-gcm:2' });
      });

      it("refuses a session copied into another session's row: the ciphertext is bound to its stored id", async () => {
        const victim = scope.sid('victim');
        const attacker = scope.sid('attacker');
        await scope.store.set(victim, liveSession({ secret: MARKER, role: 'admin' }));
        await scope.store.set(attacker, liveSession({ role: 'guest' }));
        await transplant(scope, victim, attacker);
        await expectUndecryptable(scope.store, attacker);
        await expect(scope.store.get(victim)).resolves.toMatchObject({ role: 'admin' });
      });

      it('reads a row of the first format (before 6.0) and writes it bound on its next set; allowUnbound: false refuses it', async () => {
        const probe = scope.sid('probe');
        await scope.store.set(probe, liveSession());
        const keyId = ((await scope.readRow(probe))?.sess as { k: string }).k;
        const sid = scope.sid('format1');
        const session = liveSession({ secret: MARKER });
        await scope.writeRow(sid, firstFormatEnvelope(KEY_A, keyId, session), new Date(session.cookie.expires!).getTime());
        const strict = scope.open(encrypted([KEY_A], {}, { allowUnbound: false }));
        await expectUndecryptable(strict, sid);
        await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
        await scope.store.set(sid, session);
        expect((await scope.readRow(sid))?.sess).toMatchObject({ csk: 'aes-256-gcm:2' });
        await expect(strict.get(sid)).resolves.toEqual(roundTrip(session));
      });

      it('keeps an encrypted session readable through touch', async () => {
        const sid = scope.sid('enc');
        const session = liveSession({ secret: MARKER });
        await scope.store.set(sid, session);
        const later = Date.now() + 2 * HOUR;
        await scope.store.touch(sid, sessionExpiringAt(later, { secret: MARKER }));
        const row = await scope.readRow(sid);
        expectExpiryWithin(scope, row?.expiresMs, later);
        // The cookie's expiry comes from the row the touch moved; the payload itself stays as it was encrypted.
        const touched = roundTrip(session);
        await expect(scope.store.get(sid)).resolves.toEqual({
          ...touched,
          cookie: { ...touched.cookie, expires: new Date(row!.expiresMs).toISOString() },
        });
      });

      it('fails get of a tampered row with an InvalidSessionError naming the sid, and keeps the row', async () => {
        const sid = scope.sid('tampered');
        await scope.store.set(sid, liveSession({ secret: MARKER }));
        await tamper(scope, sid);
        await expectUndecryptable(scope.store, sid);
        expect(await scope.readRow(sid)).toBeDefined();
      });

      it("with onCorruptSession: 'delete', reads a tampered row as missing and deletes it", async () => {
        const store = scope.open(encrypted([KEY_A], { onCorruptSession: 'delete' }));
        const sid = scope.sid('tampered');
        await store.set(sid, liveSession({ secret: MARKER }));
        await tamper(scope, sid);
        const outcome = await withCallback((done) => store.get(sid, done));
        expect(outcome).toMatchObject({ calls: 1, promise: 'resolved', error: null, value: null });
        expect(await scope.readRow(sid)).toBeUndefined();
      });

      it('reads rows of an older key listed after the new one, writes with the new one, and fails without it', async () => {
        const sid = scope.sid('rotated');
        const session = liveSession({ secret: MARKER });
        await scope.store.set(sid, session);
        const rotated = scope.open(encrypted([KEY_B, KEY_A]));
        await expect(rotated.get(sid)).resolves.toEqual(roundTrip(session));
        await rotated.set(sid, session);
        await expect(scope.open(encrypted([KEY_B])).get(sid)).resolves.toEqual(roundTrip(session));
        await expectUndecryptable(scope.store, sid);
      });

      it('refuses a plaintext row by default, and reads it with allowPlaintext until the next write encrypts it', async () => {
        const sid = scope.sid('legacy');
        const session = liveSession({ secret: MARKER });
        await scope.writeRow(sid, session, new Date(session.cookie.expires!).getTime());
        await expectUndecryptable(scope.store, sid);
        const migrating = scope.open({ serializer: createEncryptedSerializer({ keys: [KEY_A], allowPlaintext: true }) });
        await expect(migrating.get(sid)).resolves.toEqual(roundTrip(session));
        await migrating.set(sid, session);
        expect(JSON.stringify((await scope.readRow(sid))?.sess)).not.toContain(MARKER);
        await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
      });
    });

    describe.each([
      ['true (SHA-256)', true, (sid: string) => createHash('sha256').update(sid, 'utf8').digest('hex')],
      ['a secret (HMAC-SHA-256)', 'at-rest secret', (sid: string) => createHmac('sha256', 'at-rest secret').update(sid, 'utf8').digest('hex')],
    ] as const)('with hashSid: %s', (_title, hashSid, hash) => {
      const scope = useScope(ctx, { label: 'hashsid', storeOptions: { hashSid } });

      it('stores the hash of the sid and no sid in clear, and get, set, touch and destroy find the row', async () => {
        await scope.empty();
        const sid = scope.sid('hashed');
        const session = liveSession({ secret: MARKER });
        await scope.store.set(sid, session);
        const raw = await rawTable(scope);
        expect(raw).not.toContain(sid);
        expect((await scope.readRows()).map((row) => row.sid)).toEqual([hash(sid)]);
        await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));

        const changed = liveSession({ secret: MARKER, changed: true });
        await scope.store.set(sid, changed);
        await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(changed));
        expect(await scope.readRows()).toHaveLength(1);

        const later = Date.now() + 3 * HOUR;
        await scope.store.touch(sid, sessionExpiringAt(later, { secret: MARKER, changed: true }));
        expectExpiryWithin(scope, (await scope.readRow(hash(sid)))?.expiresMs, later);

        await scope.store.destroy(sid);
        await expect(scope.store.get(sid)).resolves.toBeNull();
        expect(await scope.readRows()).toEqual([]);
      });

      it('with an encrypting serializer too, leaves neither the sid nor the contents in the table', async () => {
        const store = scope.open({ hashSid, serializer: createEncryptedSerializer({ keys: [KEY_A] }) });
        const sid = scope.sid('sealed');
        const session = liveSession({ secret: MARKER });
        await store.set(sid, session);
        await expect(store.get(sid)).resolves.toEqual(roundTrip(session));
        const raw = await rawTable(scope);
        expect(raw).not.toContain(sid);
        expect(raw).not.toContain(MARKER);
        await store.destroy(sid);
        expect(await scope.readRow(hash(sid))).toBeUndefined();
      });

      it("with an encrypting serializer, refuses a session copied into another session's row", async () => {
        const store = scope.open({ hashSid, serializer: createEncryptedSerializer({ keys: [KEY_A] }) });
        const [victim, attacker] = [scope.sid('victim'), scope.sid('attacker')];
        await store.set(victim, liveSession({ role: 'admin' }));
        await store.set(attacker, liveSession({ role: 'guest' }));
        await transplant(scope, hash(victim), hash(attacker));
        const outcome = await withCallback((done) => store.get(attacker, done));
        expect(errorName(outcome.error)).toBe('InvalidSessionError');
        expect((outcome.error as Error).message).toMatch(/could not be decrypted/);
        await expect(store.get(victim)).resolves.toMatchObject({ role: 'admin' });
      });
    });

    describe('hashSid settings', () => {
      const scope = useScope(ctx, { label: 'hashsids' });

      it('store different keys for one sid: true, a secret, another secret and none', async () => {
        const sid = scope.sid('same');
        const settings: Array<KnexStoreOptions['hashSid']> = [false, true, 'one secret', 'another secret'];
        for (const hashSid of settings) await scope.open({ hashSid }).set(sid, liveSession({ hashSid }));
        const keys = (await scope.readRows()).map((row) => row.sid);
        expect(new Set(keys).size).toBe(settings.length);
        expect(keys).toContain(sid);
        for (const hashSid of settings) {
          await expect(scope.open({ hashSid }).get(sid)).resolves.toMatchObject({ hashSid });
        }
      });
    });
  });
}
