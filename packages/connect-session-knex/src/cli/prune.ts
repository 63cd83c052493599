/** The `prune` command: delete the expired sessions now (or count them, with --dry-run), asking first on a terminal. */
import readline from 'node:readline';
import type { SessionExpiry } from '@csk/core';
import { withStore, type CliIo, type Context } from './command.js';
import { duration, PruneProgress } from './progress.js';

/** Whether `prune` can ask before deleting: stdin and stdout are both terminals. */
export function interactive(io: CliIo): boolean {
  return io.stdin?.isTTY === true && io.stdout.isTTY === true;
}

/** Ask `question` on stderr and read one line of answer: yes or no (no, when stdin ends first). */
function confirm(io: CliIo, question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const lines = readline.createInterface({ input: io.stdin!, output: io.stderr as NodeJS.WritableStream, terminal: false });
    let answered = false;
    lines.on('line', (line) => {
      answered = true;
      lines.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    lines.on('close', () => {
      if (!answered) resolve(false);
    });
    io.stderr.write(question);
  });
}

/** The expiries `from` and `to`, as one range. */
function expiryRange(from: SessionExpiry | null | undefined, to: SessionExpiry | null | undefined): string {
  const at = (row: SessionExpiry | null | undefined): string => row?.expires?.toISOString() ?? 'unreadable';
  return `expiring from ${at(from)} to ${at(to)}`;
}

export async function prune(context: Context): Promise<{ text: string; json: unknown }> {
  return withStore(context, async (store) => {
    const { flags, io } = context;
    const before = (await store.stats({ largest: false, newestExpired: true }))!;
    const name = store.table.displayName;
    const count = (n: number): string => `${n.toLocaleString('en-US')} expired session${n === 1 ? '' : 's'}`;
    const oldest = before.expired > 0 ? before.oldest : null;
    const newest = before.expired > 0 ? before.newestExpired : null;
    const range = before.expired > 0 ? ` (${expiryRange(oldest, newest)})` : '';
    if (flags['dry-run']) {
      return {
        text: `Dry run: prune would delete ${count(before.expired)} from ${name}${range}; ${before.live.toLocaleString('en-US')} live stay.`,
        json: {
          table: name,
          dryRun: true,
          expired: before.expired,
          live: before.live,
          oldestExpired: oldest?.expires ?? null,
          newestExpired: newest?.expires ?? null,
        },
      };
    }
    if (!flags.yes && before.expired > 0 && !(await confirm(io, `Delete ${count(before.expired)} from ${name}${range}? [y/N] `))) {
      throw new Error('nothing was deleted (not confirmed)');
    }
    const progress = new PruneProgress(io.stderr, before.expired);
    let skipped = false;
    store.on('prune-progress', ({ deleted }: { deleted: number }) => progress.update(deleted));
    store.on('prune', (event: { skipped: boolean }) => {
      skipped = event.skipped;
    });
    const started = performance.now();
    const deleted = (await store.prune()) ?? 0;
    const ms = Math.round(performance.now() - started);
    // The store emits its events on a later tick: let them arrive before reading them.
    await new Promise((resolve) => setImmediate(resolve));
    progress.finish();
    const text = skipped
      ? `Skipped: another process is pruning ${name} right now (${before.expired} expired sessions were waiting).`
      : `Deleted ${deleted.toLocaleString('en-US')} expired session${deleted === 1 ? '' : 's'} from ${name} in ${duration(ms)}.`;
    return { text, json: { table: name, expiredBefore: before.expired, deleted, skipped, ms } };
  });
}
