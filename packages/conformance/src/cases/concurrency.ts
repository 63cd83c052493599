import { describe, expect, it } from '@jest/globals';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { liveSession, roundTrip } from '../util.js';

const ROUNDS = 20;
const WRITERS = 16;

/** Racing first writes of one new sid: the upsert must be atomic. */
export function concurrencyCases(ctx: SuiteContext): void {
  describe('concurrency', () => {
    const scope = useScope(ctx, { label: 'race' });

    it(`${ROUNDS} rounds of ${WRITERS} parallel first writes of one sid: no error, one row`, async () => {
      // Two instances on the same table, like two processes behind a load balancer.
      const stores = [scope.store, scope.open()];
      for (let round = 0; round < ROUNDS; round += 1) {
        const sid = scope.sid(`race${round}`);
        const versions = Array.from({ length: WRITERS }, (_, writer) => liveSession({ round, writer }));
        const results = await Promise.allSettled(
          versions.map((session, i) => stores[i % stores.length]!.set(sid, session)),
        );
        expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
        const rows = await scope.table().where(scope.sidColumn, sid);
        expect(rows).toHaveLength(1);
        const stored = await scope.store.get(sid);
        expect(versions.map((session) => roundTrip(session))).toContainEqual(stored);
      }
    });
  });
}
