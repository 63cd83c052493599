/** Half of a UTF-16 surrogate pair standing alone: no database encodes it, so each would store another character. */
export const LONE_SURROGATE = /\p{Cs}/u;

/** The longest text the sid column and the extra columns (varchar(255)) hold. */
export const MAX_STORED_TEXT_LENGTH = 255;

/**
 * Why `text` cannot be stored and looked up as itself on every supported database, or `undefined` when it can. One
 * rule for sids, extra column values and filter values alike: a value some database would refuse (a NUL, in some) or read as another value (a lone surrogate becomes U+FFFD in the drivers, PAD SPACE collations ignore a
 * trailing space, some drivers drop a leading byte-order mark) never reaches any of them, so a filter can never match
 * a row that holds another value.
 */
export function storedTextProblem(text: string): string | undefined {
  if (text.length > MAX_STORED_TEXT_LENGTH) return `must be at most ${MAX_STORED_TEXT_LENGTH} characters, not ${text.length} characters`;
  if (text.includes('\0')) return 'must not contain a NUL character';
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (it holds a lone surrogate)';
  if (text.startsWith('\ufeff')) return 'must not begin with U+FEFF (some drivers drop a leading byte-order mark)';
  if (text.endsWith(' ')) return 'must not end with a space (some databases compare text ignoring trailing spaces)';
  return undefined;
}
