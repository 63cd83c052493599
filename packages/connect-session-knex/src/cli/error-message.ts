/** How a failed command reports its error: one line, a hint for a misread expiry column, the stacks for --debug. */

/** The message without the library's `[connect-session-knex] ` prefix (the CLI starts its lines with its own name). */
export function withoutPrefix(message: string): string {
  return message.replace(/^\[connect-session-knex\] /, '');
}

/** The error on one line: its message, and where that says nothing (an AggregateError's), its parts or code. */
export function oneLine(error: unknown): string {
  const detail = (e: unknown): string => {
    if (!(e instanceof Error)) return String(e);
    const { code, errors } = e as { code?: unknown; errors?: unknown };
    if (e.message) return e.message;
    if (Array.isArray(errors) && errors.length > 0) return errors.map(detail).join('; ');
    return typeof code === 'string' ? code : e.name;
  };
  let message = withoutPrefix(detail(error));
  const cause = (error as { cause?: unknown })?.cause;
  // A DatabaseError whose driver error had no message of its own ends in ': '.
  if (/:\s*$/.test(message) && cause !== undefined) message += detail(cause);
  return message.replace(/\s*\n\s*/g, ' ');
}

/** For an expiry column the options misread, the flag that reads it right, when the stored values tell. */
export function encodingHint(error: unknown): string {
  const mismatch = (error as { mismatch?: { option?: unknown; suggested?: unknown } } | null)?.mismatch;
  if (mismatch?.option !== 'expiryEncoding' || typeof mismatch.suggested !== 'string') return '';
  return ` (the stored values say: run again with --expiry-encoding ${mismatch.suggested})`;
}

/** The stack, and the stack of each cause. */
export function stacks(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 10; depth += 1) {
    parts.push(e instanceof Error ? (e.stack ?? String(e)) : String(e));
    e = (e as { cause?: unknown } | null)?.cause;
    if (e !== undefined) parts.push('Caused by:');
  }
  return parts.join('\n');
}
