/** The `stats` command: the table's live and expired counts, earliest expiries and largest session. */
import type { SessionExpiry } from '@csk/core';
import { withStore, type Context } from './command.js';
import { duration } from './progress.js';

/** An expiry relative to now: `in 3.0 s`, `2 min 05 s ago`. */
function relative(date: Date): string {
  const ms = date.getTime() - Date.now();
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`;
}

/**
 * A session id as `stats --show-ids` prints it: its first characters (at most 8, and never more than half of it) and
 * an ellipsis, enough to tell sessions apart and too little to use one.
 */
export function shortId(sid: string): string {
  return `${sid.slice(0, Math.min(8, Math.floor(sid.length / 2)))}…`;
}

function describeExpiry(row: SessionExpiry | null, showIds: boolean): string {
  if (!row) return '-';
  const id = showIds ? `${shortId(row.sid)}, ` : '';
  return row.expires ? `${id}expires ${row.expires.toISOString()} (${relative(row.expires)})` : `${id}expiry unreadable`;
}

export async function stats(context: Context): Promise<{ text: string; json: unknown }> {
  return withStore(context, async (store) => {
    const s = (await store.stats())!;
    const showIds = context.flags['show-ids'] === true;
    // Live session ids are credentials: only on request, and then shortened.
    const named = <T extends { sid: string }>(row: T | null | undefined): Omit<T, 'sid'> | T | null => {
      if (!row) return null;
      const { sid, ...rest } = row;
      return showIds ? { ...row, sid: shortId(sid) } : rest;
    };
    const name = store.table.displayName;
    const largest = s.largest ? `${showIds ? `${shortId(s.largest.sid)}, ` : ''}${s.largest.bytes.toLocaleString('en-US')} bytes` : '-';
    const rows: Array<[string, string]> = [
      ['table', name],
      ['live', s.live.toLocaleString('en-US')],
      ['expired', s.expired.toLocaleString('en-US')],
      ['oldest live', describeExpiry(s.oldestLive, showIds)],
      ['oldest', describeExpiry(s.oldest, showIds)],
      ['largest', largest],
    ];
    const text = rows.map(([key, value]) => `${key.padEnd(12)} ${value}`).join('\n');
    const json = { ...s, oldestLive: named(s.oldestLive), oldest: named(s.oldest), largest: named(s.largest) };
    return { text, json: { table: name, ...json } };
  });
}
