// The sids the fuzz tries: of every length and character, the awkward but valid pool the sessions property writes
// under, and values that are no sid at all.
import fc from 'fast-check';
import { char, codeUnit } from './fuzz-chars.js';

/** express-session's own sids: 32 characters of URL-safe base64. */
const expressSid = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  minLength: 32,
  maxLength: 32,
});
/** Sids of every shape: the lengths (0, 1, 255, 256, 10,000), any unicode, NUL and control characters. */
export const sids = fc.oneof(
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

/** Sids valid everywhere yet awkward: quotes, SQL, unicode, controls, the longest. Shared by the sessions property. */
export function poolOfSids(prefix: string): string[] {
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
export const notStrings = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -1, Number.NaN, 42n),
  fc.double(),
  fc.object(),
  fc.date(),
  fc.constant(null).map(() => (): string => 'sid'),
  fc.constant(null).map(() => Symbol('sid')),
  fc.constant(null).map(() => new String('boxed')),
);
