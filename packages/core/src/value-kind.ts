/**
 * What kind of value `value` is, for an error message about an encryption option or a stored envelope: never the
 * value itself, which may be a key or close to one.
 */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
