// Every store method, with a callback that throws, on success and on failure. Prints a JSON report: how often each
// callback ran, what reached process 'uncaughtException', any unhandled rejection, and how each promise settled.
import { KnexStore } from '../../../src/index.js';
import { memoryKnex, sessionWith } from '../fixtures.js';
import { RecordingAdapter } from '../recording-adapter.js';

type Method = (store: KnexStore, callback: (error: unknown, value?: unknown) => void) => Promise<unknown>;

const session = sessionWith({ maxAge: 60_000 });
const methods: Record<string, Method> = {
  get: (s, cb) => s.get('a', cb),
  set: (s, cb) => s.set('a', session, cb),
  touch: (s, cb) => s.touch('a', session, cb),
  destroy: (s, cb) => s.destroy('a', cb),
  all: (s, cb) => s.all(cb),
  length: (s, cb) => s.length(cb),
  ids: (s, cb) => s.ids(cb),
  clear: (s, cb) => s.clear(cb),
  prune: (s, cb) => s.prune(cb),
};

const uncaught: string[] = [];
const unhandled: string[] = [];
process.on('uncaughtException', (error) => uncaught.push(error.message));
process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));

async function exercise(label: string, store: KnexStore): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = {};
  await Promise.all(
    Object.entries(methods).map(async ([name, method]) => {
      const received: string[] = [];
      const settled = await method(store, (error) => {
        received.push(error instanceof Error ? error.name : 'success');
        throw new Error(`${label}:${name}`);
      }).then(
        () => 'fulfilled',
        () => 'rejected',
      );
      report[name] = { received, settled };
    }),
  );
  return report;
}

async function main(): Promise<void> {
  const knex = memoryKnex();
  const open = (options: object): KnexStore =>
    new KnexStore({ knex, cleanupInterval: 0, ...options }, new RecordingAdapter());
  const working = open({});
  await working.ready;
  const report: Record<string, unknown> = { succeeded: await exercise('ok', working) };

  // Three ways to fail: no table and createTable: false; a database error; a closed store.
  report.missing = await exercise('missing', open({ createTable: false, tableName: 'missing' }));
  const dropped = open({ tableName: 'dropped' });
  await dropped.ready;
  await knex.schema.dropTable('dropped');
  report.dropped = await exercise('dropped', dropped);
  const closed = open({});
  await closed.close();
  report.closed = await exercise('closed', closed);

  // A start-up failure nobody asks about must not surface as an unhandled rejection either.
  open({ createTable: false, tableName: 'also_missing' });

  await new Promise((resolve) => setTimeout(resolve, 200));
  await working.close();
  await knex.destroy();
  process.stdout.write(JSON.stringify({ ...report, uncaught, unhandled }));
}

void main();
