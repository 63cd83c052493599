const warned = new Set<string>();

/** Emit `message` as a process warning the first time `code` is seen in this process, and never again. */
export function warnOnce(code: string, message: string, type = 'Warning'): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(`[connect-session-knex] ${message}`, { type, code });
}
