// The characters the fuzz builds its text from: the ones worth a database's attention, and strings made of them.
import fc from 'fast-check';

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
export const char = fc.oneof(
  { weight: 4, arbitrary: codePoint(0x20, 0x7e) },
  { weight: 3, arbitrary: codePoint(0x80, 0x10ffff) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_CHARS) },
  { weight: 1, arbitrary: codePoint(0, 0x1f) },
);
/** One UTF-16 code unit, so that a string of n of them is exactly n long. */
export const codeUnit = fc.oneof(
  { weight: 30, arbitrary: codePoint(0x20, 0x7e) },
  { weight: 6, arbitrary: codePoint(0x80, 0xd7ff) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_CHARS.filter((text) => text.length === 1)) },
);
export const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: char, maxLength });
