// The fuzz's oracle: which sids the store must accept, and what it must give back for a session (JSON's image of it,
// compared key by key).

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
