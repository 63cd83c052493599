import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomId, sessionExpiringAt, uniqueTableName, SECOND, HOUR } from '../util.js';
import { Worker, type LiveTarget } from './workers.js';

/** Options of {@link describeTimezones}. */
export interface TimezoneOptions {
  /** The process time zones (TZ) to run the store in. Default America/Los_Angeles and Asia/Kolkata. */
  processZones?: string[];
  /** Statements run on every connection to move the database session's time zone, e.g. `SET TIME ZONE '…'`. */
  sessionSql: string[];
  /** An SQL expression reading the session's time zone, e.g. `current_setting('TimeZone')`. */
  sessionZoneExpression: string;
  /** What that expression must read once `sessionSql` ran, e.g. 'Pacific/Chatham'. */
  sessionZone: string;
  /**
   * An SQL expression of the expiry column (written `??`) giving milliseconds since the epoch, computed without any
   * time zone setting (neither the process's, the session's nor the driver's), e.g. PostgreSQL's
   * `(extract(epoch from ??) * 1000)::bigint`.
   */
  expiryMsExpression: string;
}

// 01:30:00.457 in Los Angeles, twice: first in daylight time, then an hour later in standard time. A store that went
// through local wall-clock time anywhere would merge or shift these two.
const E1 = Date.UTC(2030, 10, 3, 8, 30, 0, 457);
const E2 = E1 + HOUR;
const FAR = E1 + 30 * 24 * HOUR + 123;
/**
 * How long before its expiry each session is written: under the minute from which a store rounds an expiry up to the
 * whole second, so that every one keeps its milliseconds.
 */
const LEAD = 30 * SECOND;

type Data = { n: string } | null;

/**
 * The store in processes whose TZ is not UTC, on connections whose session time zone is something else again: every
 * expiry is stored to the millisecond as the same instant, a session is returned until the millisecond it expires and
 * never after, and nothing live is lost; an expiry a minute or more away is stored rounded up to the whole second, the
 * same instant in every zone. "Now" is frozen in the worker (its Date.now), so every boundary is exact.
 */
export function describeTimezones(target: LiveTarget, options: TimezoneOptions): void {
  const zones = options.processZones ?? ['America/Los_Angeles', 'Asia/Kolkata'];
  const expiryOf = (worker: Worker, tableName: string, sid: string): Promise<number | null> =>
    worker
      .request<unknown>('cell', { tableName, sidColumn: 'sid', sid, expression: options.expiryMsExpression, column: 'expired' })
      .then((value) => (value === null ? null : Number(value)));
  const dataOf = (worker: Worker, sid: string): Promise<string | undefined> =>
    worker.call<Data>('get', sid).then((session) => session?.n);

  describe(`${target.name}: process TZ ${zones.join(' / ')}, database session time zone ${options.sessionZone}`, () => {
    const workers = new Map<string, Worker>();
    const processZones = new Map<string, string>();
    const tables: Array<[Worker, string]> = [];

    /** Boot the worker's store on a new table (dropped by the worker in afterAll). */
    const freshTable = async (worker: Worker): Promise<string> => {
      const tableName = uniqueTableName('tz');
      tables.push([worker, tableName]);
      await worker.request('unboot');
      await worker.request('boot', { storeOptions: { tableName } });
      return tableName;
    };

    /**
     * Write one session per name, expiring at its instant and carrying the name as its data, under a sid unique to this
     * run, each with the worker's clock `lead` ms before its expiry. Returns the sids by name.
     */
    const writeSessions = async <K extends string>(
      worker: Worker,
      expiries: Record<K, number>,
      lead = LEAD,
    ): Promise<Record<K, string>> => {
      const run = randomId();
      const sids = {} as Record<K, string>;
      for (const [name, expiresMs] of Object.entries(expiries) as Array<[K, number]>) {
        sids[name] = `${name}-${run}`;
        await worker.request('clock', { now: expiresMs - lead });
        await worker.call('set', sids[name], sessionExpiringAt(expiresMs, { n: name }));
      }
      return sids;
    };

    beforeAll(async () => {
      for (const zone of zones) {
        const { worker, loaded } = await Worker.start(target.process, { env: { TZ: zone }, sessionSql: options.sessionSql });
        workers.set(zone, worker);
        processZones.set(zone, loaded.timeZone);
      }
    }, 60_000);

    afterAll(async () => {
      for (const [worker, tableName] of tables) await worker.request('drop', { tableName }).catch(() => undefined);
      await Promise.all([...workers.values()].map((worker) => worker.stop()));
    }, 30_000);

    describe.each(zones)('TZ=%s', (zone) => {
      const worker = (): Worker => workers.get(zone)!;

      test('the process and the database session run in the zones under test', async () => {
        // Compared as ICU names it (Asia/Kolkata is Asia/Calcutta to ICU).
        expect(processZones.get(zone)).toBe(new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone);
        expect(processZones.get(zone)).not.toBe('UTC');
        expect(await worker().request('scalar', { expression: options.sessionZoneExpression })).toBe(options.sessionZone);
      });

      test('expiry is stored as the same instant, to the millisecond', async () => {
        const tableName = await freshTable(worker());
        const { a, b, far } = await writeSessions(worker(), { a: E1, b: E2, far: FAR });
        expect(await expiryOf(worker(), tableName, a)).toBe(E1);
        expect(await expiryOf(worker(), tableName, b)).toBe(E2);
        expect(await expiryOf(worker(), tableName, far)).toBe(FAR);
        // Written an hour ahead: rounded up to the next whole second, in this zone as in UTC.
        const { early } = await writeSessions(worker(), { early: E1 }, HOUR);
        expect(await expiryOf(worker(), tableName, early)).toBe(E1 - 457 + SECOND);
      });

      test('a session is returned until the millisecond it expires, never after, and live ones are kept', async () => {
        await freshTable(worker());
        const { a, b, far } = await writeSessions(worker(), { a: E1, b: E2, far: FAR });

        await worker().request('clock', { now: E1 - 1 });
        expect(await dataOf(worker(), a)).toBe('a');
        expect(await worker().call('length')).toBe(3);

        await worker().request('clock', { now: E1 });
        expect(await dataOf(worker(), a)).toBeUndefined();
        expect(await dataOf(worker(), b)).toBe('b');
        expect(((await worker().call<string[]>('ids')) ?? []).sort()).toEqual([b, far].sort());
        expect(Object.keys((await worker().call<Record<string, unknown>>('allById')) ?? {}).sort()).toEqual([b, far].sort());
        expect(await worker().call('length')).toBe(2);

        await worker().request('clock', { now: E2 - 1 });
        expect(await dataOf(worker(), b)).toBe('b');
        await worker().request('clock', { now: E2 });
        expect(await dataOf(worker(), b)).toBeUndefined();
        expect(await dataOf(worker(), far)).toBe('far');
        expect(await worker().call('length')).toBe(1);
      });

      test('touch moves the expiry to the millisecond and never revives', async () => {
        const tableName = await freshTable(worker());
        const { t, gone } = await writeSessions(worker(), { t: E1, gone: E1 });
        await worker().call('touch', t, sessionExpiringAt(E1 + 777, { n: 't' }));
        expect(await expiryOf(worker(), tableName, t)).toBe(E1 + 777);

        await worker().request('clock', { now: E1 + 776 });
        expect(await dataOf(worker(), t)).toBe('t');
        await worker().call('touch', gone, sessionExpiringAt(E2, { n: 'gone' }));
        expect(await expiryOf(worker(), tableName, gone)).toBe(E1);
        await worker().request('clock', { now: E1 + 777 });
        expect(await dataOf(worker(), t)).toBeUndefined();
      });

      test('prune deletes exactly the expired sessions', async () => {
        const tableName = await freshTable(worker());
        const { p1, p2, p3, live } = await writeSessions(worker(), { p1: E1, p2: E2, p3: E2 + 1, live: FAR });
        await worker().request('clock', { now: E2 });
        expect(await worker().call('prune')).toBe(2);
        expect(await expiryOf(worker(), tableName, p1)).toBeNull();
        expect(await expiryOf(worker(), tableName, p2)).toBeNull();
        expect(await expiryOf(worker(), tableName, p3)).toBe(E2 + 1);
        expect(await dataOf(worker(), live)).toBe('live');
      });
    });

    if (target.shared && zones.length > 1) {
      test(`a session written in ${zones[0]} expires at the same millisecond in ${zones[1]}`, async () => {
        const [writer, reader] = [workers.get(zones[0]!)!, workers.get(zones[1]!)!];
        const tableName = await freshTable(writer);
        await reader.request('unboot');
        await reader.request('boot', { storeOptions: { tableName } });
        const { x: sid } = await writeSessions(writer, { x: E1 + 1 });

        // Touched while live, to an expiry under a minute away, which keeps its milliseconds.
        const touched = E1 + 20 * SECOND + 3;
        await reader.request('clock', { now: E1 });
        expect(await dataOf(reader, sid)).toBe('x');
        await reader.call('touch', sid, sessionExpiringAt(touched, { n: 'x' }));
        await reader.request('clock', { now: E1 + 1 });
        expect(await dataOf(reader, sid)).toBe('x');

        await writer.request('clock', { now: touched - 1 });
        expect(await dataOf(writer, sid)).toBe('x');
        await writer.request('clock', { now: touched });
        expect(await dataOf(writer, sid)).toBeUndefined();
        expect(await expiryOf(writer, tableName, sid)).toBe(touched);
        expect(await expiryOf(reader, tableName, sid)).toBe(touched);
      });
    }
  });
}
