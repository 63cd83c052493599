// The sessions the fuzz tries: cookies, data of every shape (lossy, unserialisable, deep, circular, keyed by
// prototype names), and values that are no session at all.
import fc from 'fast-check';
import type { SessionData } from 'express-session';
import { HOUR } from '../util.js';
import { text } from './fuzz-chars.js';

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
export const sessions = fc
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

/** Values that are no session at all. */
export const notSessions = fc.oneof(
  fc.constantFrom(undefined, null, true, 0, 42n, '{}', 'session'),
  fc.string(),
  fc.double(),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
  fc.constant(null).map(() => (): object => ({})),
);
