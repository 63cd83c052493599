import type { SessionData } from 'express-session';
import { InvalidFilterError, InvalidSessionError, reasonOf } from './errors.js';
import type { ExtraColumn } from './options.js';
import { MAX_STORED_TEXT_LENGTH, storedTextProblem } from './stored-text.js';

/**
 * The checks of what an application hands the store (sids, sessions, the `columns` functions' values, filters): each
 * refuses bad input with a typed error before any statement runs.
 */

/** The longest session id the sid column (varchar(255)) holds. */
export const MAX_SID_LENGTH = MAX_STORED_TEXT_LENGTH;

/** A filter on the extra columns, and `sid` for a stored id a listing gave: every named column must hold the value. */
export type SessionFilter = Readonly<Record<string, string | number>>;

/** The filter key that names a session by the id a listing gave (`ids`, `findWhere`): its stored id. */
const STORED_ID_KEY = 'sid';

/**
 * The sid, if it is one every supported database stores as itself.
 *
 * @throws {InvalidSessionError}
 */
export function checkSid(sid: unknown): string {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new InvalidSessionError(`a session id must be a non-empty string, got ${sid === '' ? 'an empty string' : typeof sid}`);
  }
  const problem = storedTextProblem(sid);
  if (problem) throw new InvalidSessionError(`a session id ${problem}`);
  return sid;
}

/**
 * Every sid of `destroy`'s array, checked; an error names the index.
 *
 * @throws {InvalidSessionError}
 */
export function checkSids(sid: readonly unknown[]): string[] {
  // An index loop, not map: map skips the holes of a sparse array, which would reach the database as undefined.
  const sids: string[] = [];
  for (let i = 0; i < sid.length; i += 1) {
    try {
      sids.push(checkSid(sid[i]));
    } catch (error) {
      throw new InvalidSessionError(`destroy's array at [${i}]: ${reasonOf(error)}`, { cause: error });
    }
  }
  return sids;
}

/**
 * The session, if it is an object whose JSON is an object.
 *
 * @throws {InvalidSessionError}
 */
export function checkSession(session: unknown): SessionData {
  const kind = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);
  if (session === null || typeof session !== 'object' || Array.isArray(session)) {
    throw new InvalidSessionError(`a session must be an object, got ${kind(session)}`);
  }
  // Whatever the serializer: a session whose toJSON gives no object would be stored, then refused by every read.
  let json: unknown = session;
  try {
    const toJSON = (session as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') json = toJSON.call(session, '');
  } catch (error) {
    throw new InvalidSessionError(`the session's toJSON threw: ${reasonOf(error)}`, { cause: error });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidSessionError(`a session must be an object, but its toJSON gives ${kind(json)}`);
  }
  return session as SessionData;
}

/**
 * The extra columns' values for `session`, each checked: text of at most 255 characters, or null.
 *
 * @throws {InvalidSessionError}
 */
export function extraValues(columns: readonly ExtraColumn[], session: SessionData): Array<string | null> {
  return columns.map(({ name, value }) => {
    let result: unknown;
    try {
      result = value(session);
    } catch (error) {
      throw new InvalidSessionError(`the columns.${name} function threw: ${(error as Error)?.message ?? error}`, {
        cause: error,
      });
    }
    if (result === null || result === undefined) return null;
    if (typeof result === 'number' && Number.isFinite(result)) return String(result);
    // A trailing space is refused as in a sid: some databases compare text ignoring it (PAD SPACE collations), so
    // 'ada ' would be found and deleted as 'ada' there.
    const textProblem = typeof result === 'string' ? storedTextProblem(result) : undefined;
    if (typeof result === 'string' && textProblem === undefined) return result;
    const problem =
      typeof result === 'string'
        ? `a string that ${textProblem}`
        : typeof result === 'number'
          ? `the number ${result}`
          : Array.isArray(result)
            ? 'an array'
            : typeof result === 'object'
              ? 'an object'
              : `a ${typeof result}`;
    throw new InvalidSessionError(`the columns.${name} function must return a string, a finite number or null, got ${problem}`);
  });
}

/**
 * A `destroyWhere`/`findWhere` filter as column values (see `KnexStore.destroyWhere`): `sid` becomes `sidColumn`,
 * every other key must be one of the `declared` extra columns.
 *
 * @throws {InvalidFilterError}
 */
export function checkFilter(filter: unknown, declared: readonly string[], sidColumn: string): Record<string, string> {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new InvalidFilterError(`it must be an object of column names to values, got ${filter === null ? 'null' : Array.isArray(filter) ? 'an array' : typeof filter}`);
  }
  let entries: Array<[string, unknown]>;
  try {
    entries = Object.entries(filter as Record<string, unknown>);
  } catch (error) {
    // A getter or a proxy that throws: the filter's own fault, found before any statement.
    throw new InvalidFilterError(`reading it threw: ${reasonOf(error)}`);
  }
  if (entries.length === 0) {
    throw new InvalidFilterError('it names no column (an empty filter would select every session; use clear() for that)');
  }
  const where: Array<[string, string]> = [];
  for (const [column, value] of entries) {
    if (column === STORED_ID_KEY) {
      // The id a listing gave: matched exactly as stored, never hashed again.
      if (typeof value !== 'string' || value.length === 0) {
        throw new InvalidFilterError(`the value of "sid" must be a non-empty string (an id from ids() or findWhere), got ${value === '' ? 'an empty string' : value === null ? 'null' : typeof value}`);
      }
      const problem = storedTextProblem(value);
      if (problem) throw new InvalidFilterError(`the value of "sid" ${problem}`);
      where.push([sidColumn, value]);
      continue;
    }
    if (!declared.includes(column)) {
      throw new InvalidFilterError(
        declared.length === 0
          ? `"${column}" is no extra column: declare it in the columns option`
          : `"${column}" is no extra column (declared: ${declared.join(', ')})`,
      );
    }
    if (typeof value === 'number' && Number.isFinite(value)) {
      where.push([column, String(value)]);
    } else if (typeof value === 'string') {
      // Held to the rules of stored values (see extraValues): anything else could match a row holding another value.
      const problem = storedTextProblem(value);
      if (problem) throw new InvalidFilterError(`the value of "${column}" ${problem}`);
      where.push([column, value]);
    } else {
      throw new InvalidFilterError(`the value of "${column}" must be a string or a finite number, got ${value === null ? 'null' : typeof value}`);
    }
  }
  // fromEntries defines own properties: a column named "__proto__" stays a column, never a prototype.
  return Object.fromEntries(where);
}
