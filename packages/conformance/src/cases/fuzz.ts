import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { SessionData } from 'express-session';
import type { Callback, KnexStore } from '@csk/core';
import { useScope, type RawRow } from '../scope.js';
import { DEFAULT_FUZZ_RUNS, type ConformanceTarget, type SuiteContext } from '../target.js';
import { HOUR, errorName, sleep } from '../util.js';

/**
 * Which sids the store accepts: the documented rule in core, restated here as the oracle the fuzz checks it against.
 * A non-empty string of at most 255 UTF-16 code units, with no NUL (PostgreSQL's text types cannot hold one), no lone
 * surrogate (no database encodes one: each would be stored as another character) and no trailing space (MySQL,
 * MariaDB and SQL Server compare text ignoring trailing spaces, so "a " would name the session "a"), and no leading
 * U+FEFF (PGlite decodes text with a TextDecoder, which drops a leading byte-order mark: ids() would list another sid).
 */
export function isStorableSid(sid: unknown): sid is string {
  return (
    typeof sid === 'string' &&
    sid.length >= 1 &&
    sid.length <= 255 &&
    !sid.includes('\0') &&
    !/\p{Cs}/u.test(sid) &&
    !sid.endsWith(' ') &&
    !sid.startsWith('\ufeff')
  );
}

/**
 * What the store must give back for `session`: what JSON does to it. `undefined` when JSON cannot carry it as an
 * object (it throws: BigInt, a cycle, a throwing toJSON, nesting too deep; or it is no object), and set must refuse it.
 */
export function jsonImage(session: unknown): unknown {
  let json: unknown;
  try {
    json = JSON.stringify(session);
  } catch {
    return undefined;
  }
  return typeof json === 'string' && json.startsWith('{') ? JSON.parse(json) : undefined;
}

/**
 * Where two JSON values differ, as a path and a reason, or `undefined` when they are the same. Stricter than jest's
 * equality where it matters here (own keys only, `__proto__` and `constructor` as plain keys, no prototype checks
 * through a "constructor" key), and blind to key order, which jsonb columns do not keep.
 */
export function jsonDifference(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (expected === null || typeof expected !== 'object') {
    return Object.is(actual, expected) ? undefined : `${path}: ${String(actual)} instead of ${String(expected)}`;
  }
  if (actual === null || typeof actual !== 'object') return `${path}: ${String(actual)} instead of an object or array`;
  if (Array.isArray(expected) !== Array.isArray(actual)) return `${path}: array and object mixed up`;
  if (Object.getPrototypeOf(actual) !== (Array.isArray(actual) ? Array.prototype : Object.prototype)) {
    return `${path}: not a plain ${Array.isArray(actual) ? 'array' : 'object'}`;
  }
  const actualKeys = Object.keys(actual).sort();
  const expectedKeys = Object.keys(expected).sort();
  if (actualKeys.join('\u0000') !== expectedKeys.join('\u0000')) {
    return `${path}: keys ${JSON.stringify(actualKeys)} instead of ${JSON.stringify(expectedKeys)}`;
  }
  for (const key of expectedKeys) {
    const own = (value: object): unknown => Object.getOwnPropertyDescriptor(value, key)?.value;
    const difference = jsonDifference(own(actual), own(expected), `${path}[${JSON.stringify(key)}]`);
    if (difference) return difference;
  }
  return undefined;
}

/** The runs of each property for a target: CSK_FUZZ_RUNS, else the target's fuzzRuns, else the default. */
function fuzzBudget(target: ConformanceTarget): number {
  const fromEnv = Number(process.env.CSK_FUZZ_RUNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return target.fuzzRuns ?? DEFAULT_FUZZ_RUNS;
}

/** fast-check's settings: a fixed seed when CSK_FUZZ_SEED is set (to replay a failure it printed), else a new one. */
function settings(numRuns: number): fc.Parameters<unknown> {
  const seed = Number(process.env.CSK_FUZZ_SEED);
  return { numRuns, ...(Number.isInteger(seed) ? { seed } : {}) };
}

/** Characters worth a database's attention: quotes, escapes, NUL and controls, separators, surrogates, combining. */
const SPECIAL_CHARS = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '"',
  "'",
  '`',
  '\\',
  '/',
  ';',
  '%',
  '_',
  '?',
  '$1',
  '--',
  '/*',
  ' ',
  'é',
  'e\u0301',
  'ß',
  'İ',
  'Σ',
  '中',
  '😀',
  '👩‍👩‍👧',
  '🇯🇵',
  '𝕏',
];
/** A code point, mapped out of the surrogate range (lone surrogates come from SPECIAL_CHARS, on purpose). */
const codePoint = (min: number, max: number): fc.Arbitrary<string> =>
  fc.integer({ min, max }).map((code) => String.fromCodePoint(code >= 0xd800 && code <= 0xdfff ? code - 0x800 : code));
/** One unit of generated text: mostly printable, often special. */
const char = fc.oneof(
  { weight: 4, arbitrary: codePoint(0x20, 0x7e) },
  { weight: 3, arbitrary: codePoint(0x80, 0x10ffff) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_CHARS) },
  { weight: 1, arbitrary: codePoint(0, 0x1f) },
);
/** One UTF-16 code unit, so that a string of n of them is exactly n long. */
const codeUnit = fc.oneof(
  { weight: 30, arbitrary: codePoint(0x20, 0x7e) },
  { weight: 6, arbitrary: codePoint(0x80, 0xd7ff) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_CHARS.filter((text) => text.length === 1)) },
);
const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: char, maxLength });

/** express-session's own sids: 32 characters of URL-safe base64. */
const expressSid = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  minLength: 32,
  maxLength: 32,
});
/** Sids of every shape: the lengths (0, 1, 255, 256, 10,000), any unicode, NUL and control characters. */
const sids = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: char, minLength: 1, maxLength: 40 }) },
  {
    weight: 3,
    // A short random chunk repeated to the exact length: as hostile as a fully random string, and far cheaper to make.
    arbitrary: fc
      .tuple(
        fc.constantFrom(0, 1, 2, 254, 255, 256, 10_000),
        fc.string({ unit: codeUnit, minLength: 1, maxLength: 24 }),
      )
      .map(([length, chunk]) => chunk.repeat(Math.ceil(length / chunk.length)).slice(0, length)),
  },
  { weight: 1, arbitrary: expressSid },
);

/** Keys that trip naive code: prototype names, JSON's own hook, the empty key, and any text. */
const keys = fc.oneof(
  { weight: 4, arbitrary: text(12) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'valueOf',
      'hasOwnProperty',
      'toJSON',
      '',
    ),
  },
);

/** An object holding exactly these entries as own properties (so "__proto__" is a key, never the prototype). */
function objectOf(
  entries: Array<[string, unknown]>,
  prototype: object | null = Object.prototype,
): Record<string, unknown> {
  const object = Object.create(prototype) as Record<string, unknown>;
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** Something JSON cannot carry: set must refuse the session holding it. */
const unserialisable = fc.oneof(
  fc.bigInt(),
  fc.constant(null).map(() => ({
    toJSON: (): never => {
      throw new Error('toJSON refused');
    },
  })),
  fc.constant(null).map(() => ({ toJSON: (): bigint => 1n })),
);

/** What JSON carries with a change (dropped, nulled, stringified): set must store the JSON image. */
const lossy = fc.oneof(
  fc.constantFrom(undefined, Number.NaN, Infinity, -Infinity, -0),
  fc.constant(null).map(() => (): void => undefined),
  fc.constant(null).map(() => Symbol('dropped')),
  fc.date({ noInvalidDate: false }),
  fc.constant(null).map(() => new Map([['a', 1]])),
  fc.constant(null).map(() => new Set([1])),
  fc.constant(null).map(() => new Uint8Array([1, 2, 3])),
  fc.constant(null).map(() => ({ toJSON: (): string => 'replaced' })),
);

const leaf = fc.oneof(
  { weight: 6, arbitrary: text(16) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.maxSafeNat() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: lossy },
  { weight: 1, arbitrary: unserialisable },
);

/** Any session data: nested arrays and objects of any leaf, objects with or without a prototype. */
const { value: data } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 5 }, leaf, tie('array'), tie('object')),
  array: fc.oneof(fc.array(tie('value'), { maxLength: 5 }), fc.sparseArray(tie('value'), { maxLength: 5 })),
  object: fc
    .tuple(fc.array(fc.tuple(keys, tie('value')), { maxLength: 5 }), fc.boolean())
    .map(([entries, bare]) => objectOf(entries, bare ? null : Object.prototype)),
}));

/** A chain of `depth` nested objects and arrays around a string. */
function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { d: value };
  return value;
}

/** The cookies express-session writes, and none at all (the ttl applies). Every one is live for hours. */
const cookies = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: HOUR, max: 365 * 24 * HOUR }).map((maxAge) => ({ originalMaxAge: maxAge, maxAge })),
  fc
    .tuple(
      fc.integer({ min: HOUR, max: 365 * 24 * HOUR }),
      fc.boolean(),
      fc.constantFrom('lax', 'strict', true, undefined),
    )
    .map(([lifetime, asText, sameSite]) => {
      const expires = new Date(Date.now() + lifetime);
      return {
        originalMaxAge: lifetime,
        expires: asText ? expires.toISOString() : expires,
        secure: false,
        httpOnly: true,
        path: '/',
        ...(sameSite === undefined ? {} : { sameSite }),
      };
    }),
);

type Shape = 'plain' | 'deep' | 'too deep' | 'circular';
/** Whole sessions: a cookie (or none) and data keyed by anything but "cookie", sometimes deep or circular. */
const sessions = fc
  .tuple(
    cookies,
    fc.array(
      fc.tuple(
        keys.filter((key) => key !== 'cookie'),
        data,
      ),
      { maxLength: 8 },
    ),
    fc.constantFrom<Shape>('plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'deep', 'too deep', 'circular'),
    fc.integer({ min: 1, max: 1500 }),
  )
  .map(([cookie, entries, shape, depth]) => {
    const session = objectOf(cookie === undefined ? entries : [['cookie', cookie], ...entries]);
    if (shape === 'deep') session.deep = nested(depth);
    // Far past the depth JSON.stringify can walk: it throws, and set must refuse it cleanly.
    if (shape === 'too deep') session.deep = nested(20_000);
    if (shape === 'circular') session.loop = { back: [session] };
    return session as unknown as SessionData;
  });

/** Sids valid everywhere yet awkward: quotes, SQL, unicode, controls, the longest. Shared by the sessions property. */
function poolOfSids(prefix: string): string[] {
  return [
    `${prefix}-plain`,
    `${prefix}-it's "quoted"; --`,
    `${prefix}-🔑-ключ-鍵`,
    `${prefix}-\u0001\t\u001f`,
    `${prefix}-__proto__`,
    `${prefix}-`.padEnd(255, 'z'),
    `${prefix}-CaSe`,
    `${prefix}-case`,
  ];
}

/** Values that are no sid at all. */
const notStrings = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -1, Number.NaN, 42n),
  fc.double(),
  fc.object(),
  fc.date(),
  fc.constant(null).map(() => (): string => 'sid'),
  fc.constant(null).map(() => Symbol('sid')),
  fc.constant(null).map(() => new String('boxed')),
);
/** Values that are no session at all. */
const notSessions = fc.oneof(
  fc.constantFrom(undefined, null, true, 0, 42n, '{}', 'session'),
  fc.string(),
  fc.double(),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
  fc.constant(null).map(() => (): object => ({})),
);

/** The outcome of one call made with a callback. */
interface Outcome<T> {
  error: unknown;
  value: T | undefined;
}

/**
 * Calls made with a callback, checked as a whole at the end of each property: the method never throws, its promise
 * never rejects, and each callback runs exactly once.
 */
class Ledger {
  readonly #calls: number[] = [];
  readonly #problems: string[] = [];

  call<T>(what: string, start: (callback: Callback<T>) => unknown): Promise<Outcome<T>> {
    const index = this.#calls.push(0) - 1;
    return new Promise<Outcome<T>>((resolve) => {
      let returned: unknown;
      try {
        returned = start((error, value) => {
          this.#calls[index] = (this.#calls[index] ?? 0) + 1;
          resolve({ error, value });
        });
      } catch (error) {
        this.#problems.push(`${what} threw ${errorName(error)}: ${(error as Error)?.message}`);
        resolve({ error, value: undefined });
        return;
      }
      if (returned instanceof Promise) {
        returned.catch((error: unknown) =>
          this.#problems.push(`${what} returned a rejected promise: ${errorName(error)}`),
        );
      }
    });
  }

  /** After a grace period for late second calls: every callback ran exactly once, and nothing threw or rejected. */
  async check(): Promise<void> {
    await sleep(50);
    const wrong = this.#calls.flatMap((calls, index) =>
      calls === 1 ? [] : [`call ${index} ran its callback ${calls} times`],
    );
    expect([...this.#problems, ...wrong]).toEqual([]);
    this.#calls.length = 0;
  }
}

/** The error a refusal must be: an InvalidSessionError from the store. */
function expectRefusal(error: unknown): void {
  expect(errorName(error)).toBe('InvalidSessionError');
  expect((error as Error).message).toMatch(/^\[connect-session-knex\] /);
}

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
