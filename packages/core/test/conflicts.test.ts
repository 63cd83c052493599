import type { Knex } from 'knex';
import type { ErrorKind, PruneEvent, SessionTable } from '../src/index.js';
import { CONFLICT_RETRIES } from '../src/retry.js';
import { readRows, sessionWith, useFixtures } from './support/fixtures.js';
import { RECORDING_CATALOG, RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
const HOUR = 3_600_000;

/** An error as a driver reports a lost conflict, wrapped as knex and the store wrap it (the classifier sees the chain). */
const conflict = (): Error => new Error('query failed', { cause: Object.assign(new Error('deadlock'), { code: 'LOST' }) });

/** The recording adapter, with one conflict class: errors whose code is `LOST`. */
class ConflictingAdapter extends RecordingAdapter {
  override classifyError(error: unknown): ErrorKind {
    return (error as { code?: unknown } | null)?.code === 'LOST' ? 'conflict' : super.classifyError(error);
  }
}

describe('statements that lose a conflict', () => {
  it('run again: a set whose upsert lost twice is stored once, and the caller sees no error', async () => {
    const adapter = new ConflictingAdapter();
    const fixture = fixtures.store({}, adapter);
    await fixture.store.ready;
    adapter.before('upsert', () => Promise.reject(conflict())).before('upsert', () => Promise.reject(conflict()));
    await expect(fixture.store.set('a', sessionWith({ maxAge: HOUR }, { n: 1 }))).resolves.toBeUndefined();
    expect(adapter.callsOf('upsert')).toHaveLength(3);
    expect((await readRows(fixture)).map(({ sid, sess }) => ({ sid, sess }))).toEqual([
      { sid: 'a', sess: { cookie: { originalMaxAge: null, maxAge: HOUR }, n: 1 } },
    ]);
  });

  it('give up after a bounded number of rounds, with the conflict as the cause of the error', async () => {
    const adapter = new ConflictingAdapter();
    const fixture = fixtures.store({}, adapter);
    await fixture.store.ready;
    for (let i = 0; i <= CONFLICT_RETRIES; i++) adapter.before('upsert', () => Promise.reject(conflict()));
    const failure = fixture.store.set('a', sessionWith({ maxAge: HOUR }));
    await expect(failure).rejects.toMatchObject({ name: 'DatabaseError', cause: { cause: { code: 'LOST' } } });
    expect(adapter.callsOf('upsert')).toHaveLength(CONFLICT_RETRIES + 1);
    expect(await readRows(fixture)).toEqual([]);
  });

  it('are not retried for any other error', async () => {
    const adapter = new ConflictingAdapter();
    const fixture = fixtures.store({}, adapter);
    await fixture.store.ready;
    adapter.before('upsert', () => Promise.reject(Object.assign(new Error('check constraint'), { code: 'OTHER' })));
    await expect(fixture.store.set('a', sessionWith({ maxAge: HOUR }))).rejects.toMatchObject({ name: 'DatabaseError' });
    expect(adapter.callsOf('upsert')).toHaveLength(1);
  });

  it('end a prune as skipped, not failed: the store it collided with deletes the same rows', async () => {
    const adapter = new ConflictingAdapter();
    const fixture = fixtures.store({}, adapter);
    await fixture.store.set('a', sessionWith({ maxAge: HOUR }));
    const pruned: PruneEvent[] = [];
    fixture.store.on('prune', (event: PruneEvent) => pruned.push(event));
    adapter.before('deleteExpired', () => Promise.reject(conflict()));
    await expect(fixture.store.prune()).resolves.toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pruned).toMatchObject([{ deleted: 0, skipped: true }]);
    // The next prune, without the collision, runs as usual.
    await expect(fixture.store.prune()).resolves.toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pruned).toMatchObject([{ skipped: true }, { deleted: 0, skipped: false }]);
  });

  it('fail a prune for any other error, as before', async () => {
    const adapter = new ConflictingAdapter();
    const fixture = fixtures.store({}, adapter);
    await fixture.store.ready;
    adapter.before('deleteExpired', () => Promise.reject(new Error('disk full')));
    await expect(fixture.store.prune()).rejects.toMatchObject({ name: 'DatabaseError' });
  });
});

describe('a start-up racing another creator of the table', () => {
  it('runs again when the check after its failed CREATE TABLE loses a conflict, and becomes ready', async () => {
    // As on a multi-primary cluster: this store's CREATE fails because another node created the table, and the
    // catalog read that should find that table loses a conflict with the other node's DDL.
    const checks: Array<'missing' | 'conflict' | 'real'> = ['missing', 'conflict'];
    class Racing extends ConflictingAdapter {
      override readonly catalog = {
        ...RECORDING_CATALOG,
        hasTable: async (knex: Knex, table: SessionTable): Promise<boolean> => {
          const next = checks.shift() ?? 'real';
          if (next === 'conflict') throw conflict();
          return next === 'missing' ? false : RECORDING_CATALOG.hasTable(knex, table);
        },
      };
    }
    const adapter = new Racing().before('defineTable', () => {
      throw new Error('table already exists');
    });
    const fixture = fixtures.store({}, adapter);
    await expect(fixture.store.ready).resolves.toBeUndefined();
    await fixture.store.set('a', sessionWith({ maxAge: HOUR }));
    expect((await readRows(fixture)).map(({ sid }) => sid)).toEqual(['a']);
  });
});
