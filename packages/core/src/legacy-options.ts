import { ConfigurationError } from './errors.js';
import { boolean } from './option-checks.js';
import type { KnexStoreOptions } from './store-options.js';
import { warnOnce } from './warn-once.js';

/** Upstream's v3/v4 spellings, each mapped onto the current option. */
type LegacyKey = { current: keyof KnexStoreOptions; convert?: (key: string, value: unknown) => unknown };
const LEGACY_KEYS: Record<string, LegacyKey> = {
  tablename: { current: 'tableName' },
  sidfieldname: { current: 'sidFieldName' },
  createtable: { current: 'createTable' },
  clearInterval: { current: 'cleanupInterval' },
  disableDbCleanup: { current: 'cleanupInterval', convert: (key, value) => (boolean(key, value, false) ? 0 : undefined) },
};

/** The options under their current names, and for each the key the caller actually wrote (for error messages). */
interface Normalised {
  readonly options: Record<string, unknown>;
  readonly spelling: (key: string) => string;
}

/** Apply the legacy spellings, warning once for each; a legacy key that contradicts its current one is an error. */
export function normalise(input: Record<string, unknown>): Normalised {
  const options: Record<string, unknown> = {};
  const written = new Map<string, string>();
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || LEGACY_KEYS[key]) continue;
    options[key] = value;
  }
  for (const [legacy, { current, convert }] of Object.entries(LEGACY_KEYS)) {
    if (input[legacy] === undefined) continue;
    warnOnce(
      `CSK_DEP_${legacy.toUpperCase()}`,
      `option "${legacy}" is deprecated: use ${legacy === 'disableDbCleanup' ? '"cleanupInterval: 0"' : `"${current}"`}`,
      'DeprecationWarning',
    );
    const value = convert ? convert(legacy, input[legacy]) : input[legacy];
    if (value === undefined) continue;
    if (options[current] !== undefined && options[current] !== value) {
      throw new ConfigurationError(legacy, `(deprecated) contradicts "${current}": pass only "${current}"`);
    }
    if (options[current] === undefined) written.set(current, legacy);
    options[current] = value;
  }
  return { options, spelling: (key) => written.get(key) ?? key };
}
