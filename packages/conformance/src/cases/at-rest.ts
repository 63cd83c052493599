import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createEncryptedSerializer, type KnexStore, type KnexStoreOptions } from '@csk/core';
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
      const encrypted = (keys: Buffer[], extra: Partial<KnexStoreOptions> = {}): Partial<KnexStoreOptions> => ({
        serializer: createEncryptedSerializer({ keys }),
        ...extra,
      });
      const scope = useScope(ctx, { label: 'encrypted', storeOptions: encrypted([KEY_A]) });

      it('round-trips sessions through get and all, and the raw row holds none of their contents', async () => {
        await scope.empty();
        const sid = scope.sid('enc');
        const session = liveSession({ secret: MARKER, nested: { list: [1, 'two', { three: 3 }] } });
        await scope.store.set(sid, session);
        await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
        await expect(scope.store.all()).resolves.toEqual({ [sid]: roundTrip(session) });
        const raw = await rawTable(scope);
        expect(raw).toContain(sid);
        expect(raw).not.toContain(MARKER);
        expect(raw).not.toContain('nested');
        expect((await scope.readRow(sid))?.sess).toMatchObject({ csk: 'aes-256-gcm:1' });
      });

      it('keeps an encrypted session readable through touch', async () => {
        const sid = scope.sid('enc');
        const session = liveSession({ secret: MARKER });
        await scope.store.set(sid, session);
        const later = Date.now() + 2 * HOUR;
        await scope.store.touch(sid, sessionExpiringAt(later, { secret: MARKER }));
        expectExpiryWithin(scope, (await scope.readRow(sid))?.expiresMs, later);
        await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
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
        await scope.writeRow(sid, session, Date.now() + HOUR);
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
