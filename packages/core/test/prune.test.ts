import { DatabaseError, PORTABLE_CAPABILITIES, PRUNE_BATCH_SIZE } from '../src/index.js';
import { deferred, eventually, settleTicks } from './support/async.js';
import { runChild } from './support/child.js';
import { readRows, useFixtures, type Fixture } from './support/fixtures.js';
import { RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
const HOUR = 3_600_000;

/** Write `expired` rows that expired a second ago and `live` rows that live an hour. */
async function addRows({ knex, store, adapter }: Fixture, expired: number, live = 0): Promise<void> {
  await store.ready;
  const t = store.table;
  const row = (sid: string, ms: number) => ({
    [t.sidColumn]: sid,
    [t.sessColumn]: '{}',
    [t.expiredColumn]: adapter.encodeExpiry(ms),
  });
  const rows = [
    ...Array.from({ length: expired }, (_, i) => row(`old${i}`, Date.now() - 1000)),
    ...Array.from({ length: live }, (_, i) => row(`live${i}`, Date.now() + HOUR)),
  ];
  await knex.batchInsert(t.tableName, rows, 250);
}

async function sids(fixture: Fixture): Promise<string[]> {
  return (await readRows(fixture)).map((row) => row.sid);
}

describe('prune', () => {
  it('deletes every expired row, batch by batch, and keeps the live ones', async () => {
    const fixture = fixtures.store();
    await addRows(fixture, 2 * PRUNE_BATCH_SIZE + 5, 3);
    const before = fixture.adapter.encodeExpiry(Date.now()) as number;
    expect(await fixture.store.prune()).toBe(2 * PRUNE_BATCH_SIZE + 5);
    const after = fixture.adapter.encodeExpiry(Date.now()) as number;
    expect(await sids(fixture)).toEqual(['live0', 'live1', 'live2']);
    const batches = fixture.adapter.callsOf('deleteExpired');
    expect(batches.length).toBeGreaterThan(1);
    for (const { limit, now } of batches) {
      expect(limit).toBe(PRUNE_BATCH_SIZE);
      expect(now).toBeGreaterThanOrEqual(before);
      expect(now).toBeLessThanOrEqual(after);
    }
  });

  it('joins a prune already running', async () => {
    const fixture = fixtures.store();
    await addRows(fixture, 5);
    const gate = deferred();
    fixture.adapter.before('deleteExpired', () => gate.promise);
    const first = fixture.store.prune();
    await settleTicks();
    const second = fixture.store.prune();
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual([5, 5]);
  });

  it("deletes in the adapter's pruneBatchSize and, resting between batches, still deletes every expired row", async () => {
    class Paced extends RecordingAdapter {
      override readonly capabilities = { ...PORTABLE_CAPABILITIES, pruneBatchSize: 2, pruneRestRatio: 1 };
    }
    const fixture = fixtures.store({}, new Paced());
    await addRows(fixture, 5, 1);
    expect(await fixture.store.prune()).toBe(5);
    expect(await sids(fixture)).toEqual(['live0']);
    expect(fixture.adapter.callsOf('deleteExpired').map(({ limit }) => limit)).toEqual([2, 2, 2]);
  });

  it('stops during a rest between batches when close() is called, with no further batch', async () => {
    class Resting extends RecordingAdapter {
      // Far beyond the cap: the rest lasts its longest, which close() falls into.
      override readonly capabilities = { ...PORTABLE_CAPABILITIES, pruneBatchSize: 2, pruneRestRatio: 1e9 };
    }
    const fixture = fixtures.store({}, new Resting());
    await addRows(fixture, 5);
    let closing: Promise<void> | undefined;
    fixture.store.once('prune-progress', () => {
      closing = fixture.store.close();
    });
    expect(await fixture.store.prune()).toBe(2);
    await closing;
    expect(await sids(fixture)).toHaveLength(3);
    expect(fixture.adapter.callsOf('deleteExpired')).toHaveLength(1);
  });
});

describe('the background prune', () => {
  it("exposes v5's nextDbCleanup: null without a scheduled prune, else the pending timer (for v5's clearTimeout)", async () => {
    expect(fixtures.store({ cleanupInterval: 0 }).store.nextDbCleanup).toBeNull();
    const fixture = fixtures.store({ cleanupInterval: 60_000 });
    await addRows(fixture, 2);
    expect(fixture.store.nextDbCleanup).not.toBeNull();
    clearTimeout(fixture.store.nextDbCleanup!);
    await fixture.store.close();
    expect(fixture.store.nextDbCleanup).toBeNull();
  });

  it('deletes expired rows every cleanupInterval', async () => {
    const fixture = fixtures.store({ cleanupInterval: 5 });
    await addRows(fixture, 3, 1);
    await eventually(async () => expect(await sids(fixture)).toEqual(['live0']));
    await addRows(fixture, 2);
    await eventually(async () => expect(await sids(fixture)).toEqual(['live0']));
  });

  it('gives its errors to onDbCleanupError and carries on', async () => {
    const errors: unknown[] = [];
    const cause = new Error('lock timeout');
    const adapter = new RecordingAdapter().before('deleteExpired', () => {
      throw cause;
    });
    const fixture = fixtures.store({ cleanupInterval: 5, onDbCleanupError: (error) => errors.push(error) }, adapter);
    await addRows(fixture, 2);
    await eventually(async () => expect(await sids(fixture)).toEqual([]));
    expect(errors).toEqual([expect.any(DatabaseError)]);
    expect(errors[0]).toMatchObject({ operation: 'prune', cause });
  });

  it('stops at close(), which waits for the run in flight', async () => {
    // Every row expired: only with the share rule off does the background prune delete them.
    const fixture = fixtures.store({ cleanupInterval: 5, pruneMaxShare: 1 });
    await addRows(fixture, 2 * PRUNE_BATCH_SIZE + 5);
    const reached = deferred();
    const gate = deferred();
    fixture.adapter.before('deleteExpired', () => undefined).before('deleteExpired', () => {
      reached.resolve();
      return gate.promise;
    });
    await reached.promise;
    let closed = false;
    const closing = fixture.store.close().then(() => {
      closed = true;
    });
    await settleTicks();
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    // The run stopped after its current batch, and no prune ran after close().
    expect(await sids(fixture)).toHaveLength(5);
    await settleTicks(100);
    expect(await sids(fixture)).toHaveLength(5);
  });

  it('does not keep the process alive (in a child process)', async () => {
    const result = await runChild('prune-timer');
    expect(result).toMatchObject({ code: 0, signal: null, stdout: 'done', stderr: '' });
  });
});
