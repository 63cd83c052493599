/** What a command is given (the knex, the table options, the flags, the streams) and the store it reads through. */
import type { Knex } from 'knex';
import type { SessionTableOptions } from '@csk/core';
import { ConnectSessionKnexStore } from '../connect-session-knex-store.js';
import type { Flags } from './flags.js';
import type { ProgressOutput } from './progress.js';

/** What the commands write to, and the environment they read. */
export interface CliIo {
  readonly stdout: ProgressOutput;
  readonly stderr: ProgressOutput;
  readonly env: NodeJS.ProcessEnv;
  /** Where `prune` reads its question's answer; it asks only when this and stdout are terminals. */
  readonly stdin?: NodeJS.ReadableStream & { readonly isTTY?: boolean };
}

/** What a command runs with: the knex the flags name, the table options, the flags themselves and the streams. */
export interface Context {
  readonly knex: Knex;
  readonly options: SessionTableOptions;
  readonly flags: Flags;
  readonly io: CliIo;
}

/** A command: resolves what to print, as text and as JSON. */
export type Command = (context: Context) => Promise<{ text: string; json: unknown }>;

/** A store that only reads and prunes: it never creates the table, prunes on its own or takes the fast path. */
function openStore({ knex, options }: Context): ConnectSessionKnexStore {
  return new ConnectSessionKnexStore({ ...options, knex, createTable: false, cleanupInterval: 0, fastPath: false });
}

export async function withStore<T>(context: Context, body: (store: ConnectSessionKnexStore) => Promise<T>): Promise<T> {
  const store = openStore(context);
  try {
    await store.ready;
    return await body(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}
