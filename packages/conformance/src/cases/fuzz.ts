// The property-based fuzz's cases (its oracle, harness, sids and sessions are in the fuzz-*.ts modules beside it).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { SessionData } from 'express-session';
import type { KnexStore } from '@csk/core';
import { useScope, type RawRow } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR } from '../util.js';
import { char } from './fuzz-chars.js';
import { Ledger, expectRefusal, fuzzBudget, settings } from './fuzz-harness.js';
import { isStorableSid, jsonDifference, jsonImage } from './fuzz-oracle.js';
import { notSessions, sessions } from './fuzz-sessions.js';
import { notStrings, poolOfSids, sids } from './fuzz-sids.js';

/**
 * A property-based fuzz of the store (fast-check): sids of every length and character, sessions of every shape, and
 * values of the wrong type. Each case either round-trips exactly (as JSON carries the session) or fails with an
 * InvalidSessionError through its callback; nothing throws, rejects or crashes; a failed set leaves the previous
 * version of that session exactly as it was.
 */
export function fuzzCases(ctx: SuiteContext): void {
  describe('fuzz', () => {
    const budget = fuzzBudget(ctx.target);
    // Sids and sessions share the budget; values of the wrong type never reach the database and take a tenth.
    const sidRuns = Math.max(1, Math.round(budget * 0.45));
    const sessionRuns = Math.max(1, Math.round(budget * 0.45));
    const wrongTypeRuns = Math.max(1, budget - sidRuns - sessionRuns);
    // Generous: the time a slow engine might need, never a measure of speed.
    const timeout = (runs: number): number => 120_000 + runs * 60;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    beforeAll(() => {
      process.on('unhandledRejection', onUnhandled);
    });
    afterAll(() => {
      process.off('unhandledRejection', onUnhandled);
    });

    describe('sids', () => {
      const scope = useScope(ctx, { label: 'fzsid' });

      it(
        `${sidRuns} sids either round-trip through set, get, touch and destroy, or are refused and write nothing`,
        async () => {
          const ledger = new Ledger();
          const store: KnexStore = scope.store;
          const rows = async (): Promise<Array<Record<string, unknown>>> =>
            (await scope.table().select(scope.sidColumn)) as Array<Record<string, unknown>>;
          await fc.assert(
            fc.asyncProperty(sids, async (sid) => {
              // From an empty table, so that a failed run (and fast-check's replays while shrinking) starts clean.
              await scope.empty();
              const session = { cookie: { originalMaxAge: HOUR, maxAge: HOUR }, sid } as unknown as SessionData;
              const set = await ledger.call<void>('set', (done) => store.set(sid, session, done));
              if (!isStorableSid(sid)) {
                expectRefusal(set.error);
                expectRefusal((await ledger.call('get', (done) => store.get(sid, done))).error);
                expectRefusal((await ledger.call<void>('touch', (done) => store.touch(sid, session, done))).error);
                expectRefusal((await ledger.call('destroy', (done) => store.destroy(sid, done))).error);
                expect(await rows()).toEqual([]);
                return;
              }
              expect(set.error).toBeNull();
              const got = await ledger.call('get', (done) => store.get(sid, done));
              expect(got.error).toBeNull();
              expect(jsonDifference(got.value, jsonImage(session))).toBeUndefined();
              // Exactly one row, under exactly this sid: no collation folded it into another, no byte was replaced.
              expect((await rows()).map((row) => String(row[scope.sidColumn]))).toEqual([sid]);
              expect((await ledger.call<void>('touch', (done) => store.touch(sid, session, done))).error).toBeNull();
              // The one row there was, so the row under exactly this sid.
              const destroyed = await ledger.call('destroy', (done) => store.destroy(sid, done));
              expect(destroyed).toEqual({ error: null, value: 1 });
            }),
            settings(sidRuns),
          );
          await ledger.check();
          expect(unhandled).toEqual([]);
        },
        timeout(sidRuns),
      );
    });

    describe('sessions', () => {
      const scope = useScope(ctx, { label: 'fzsess' });
      const pool = poolOfSids('fz');

      it(
        `${sessionRuns} sessions either come back as JSON carries them, or are refused and leave the previous version`,
        async () => {
          const ledger = new Ledger();
          const store: KnexStore = scope.store;
          await fc.assert(
            fc.asyncProperty(fc.constantFrom(...pool), sessions, async (sid, session) => {
              const before: RawRow | undefined = await scope.readRow(sid);
              const expected = jsonImage(session);
              const set = await ledger.call<void>('set', (done) => store.set(sid, session, done));
              if (expected === undefined) {
                expectRefusal(set.error);
                expect(await scope.readRow(sid)).toEqual(before);
                return;
              }
              expect(set.error).toBeNull();
              const got = await ledger.call('get', (done) => store.get(sid, done));
              expect(got.error).toBeNull();
              expect(jsonDifference(got.value, expected)).toBeUndefined();
              expect(jsonDifference((await scope.readRow(sid))?.sess, expected)).toBeUndefined();
            }),
            settings(sessionRuns),
          );
          await ledger.check();
          expect(unhandled).toEqual([]);
        },
        timeout(sessionRuns),
      );

      it(
        `${wrongTypeRuns} values of the wrong type are refused through the callback and change nothing`,
        async () => {
          const ledger = new Ledger();
          const store: KnexStore = scope.store;
          const sid = pool[0]!;
          await store.set(sid, { cookie: { maxAge: HOUR }, kept: true } as unknown as SessionData);
          const before = await scope.readRow(sid);
          await fc.assert(
            fc.asyncProperty(notStrings, notSessions, async (badSid, badSession) => {
              const bad = badSid as string;
              expectRefusal((await ledger.call('get', (done) => store.get(bad, done))).error);
              expectRefusal((await ledger.call<void>('set', (done) => store.set(bad, {} as SessionData, done))).error);
              expectRefusal(
                (await ledger.call<void>('touch', (done) => store.touch(bad, {} as SessionData, done))).error,
              );
              expectRefusal((await ledger.call('destroy', (done) => store.destroy(bad, done))).error);
              expectRefusal((await ledger.call('destroy', (done) => store.destroy([sid, bad], done))).error);
              const session = badSession as unknown as SessionData;
              expectRefusal((await ledger.call<void>('set', (done) => store.set(sid, session, done))).error);
              expectRefusal((await ledger.call<void>('touch', (done) => store.touch(sid, session, done))).error);
            }),
            settings(wrongTypeRuns),
          );
          await ledger.check();
          expect(await scope.readRow(sid)).toEqual(before);
          expect(unhandled).toEqual([]);
        },
        timeout(wrongTypeRuns),
      );

      it('5 MB sessions round-trip: ASCII, multi-byte unicode, and sixty thousand small objects', async () => {
        const megabytes = 5 * 1024 * 1024;
        const sid = pool[1]!;
        const [seed = ''] = fc.sample(fc.string({ unit: char, minLength: 16, maxLength: 64 }), 1);
        const unit = `é中😀${seed}`;
        const payloads: Array<Record<string, unknown>> = [
          { blob: 'x'.repeat(megabytes) + seed },
          { blob: unit.repeat(Math.ceil(megabytes / Buffer.byteLength(unit))) },
          { list: Array.from({ length: 60_000 }, (_, i) => ({ i, seed, pad: 'p'.repeat(60) })) },
        ];
        for (const data of payloads) {
          const session = { cookie: { maxAge: HOUR }, ...data } as unknown as SessionData;
          expect(Buffer.byteLength(JSON.stringify(session))).toBeGreaterThanOrEqual(megabytes);
          const set = await new Ledger().call<void>('set', (done) => scope.store.set(sid, session, done));
          expect(set.error).toBeNull();
          expect(jsonDifference(await scope.store.get(sid), jsonImage(session))).toBeUndefined();
        }
      }, 300_000);
    });
  });
}
