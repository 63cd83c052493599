import { afterAll, describe, expect, it } from '@jest/globals';
import type { KnexStore } from '@csk/core';
import { runChild } from '../child/run-child.js';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { errorName, liveSession, uniqueTableName, withCallback, type CallbackOutcome } from '../util.js';

const METHODS = ['set', 'get', 'touch', 'all', 'allById', 'length', 'ids', 'prune', 'destroy', 'clear'] as const;
type Method = (typeof METHODS)[number];

function call(store: KnexStore, method: Method, sid: string): Promise<CallbackOutcome<unknown>> {
  return withCallback<unknown>((done) => {
    switch (method) {
      case 'set':
      case 'touch':
        return store[method](sid, liveSession({ via: method }), done);
      case 'get':
      case 'destroy':
        return store[method](sid, done);
      default:
        return store[method](done);
    }
  });
}

/** Per method of a child's scenario: the callbacks' errors (null for success), as the child recorded them. */
type CallLog = Record<string, Array<string | null>>;
type Settled = Record<string, 'resolved' | 'rejected'>;

function expectEachCalledOnceWithError(calls: CallLog, label: string, name?: string): void {
  for (const method of METHODS) {
    const key = `${label}.${method}`;
    // The key rides along so that a failure names the method.
    expect({ key, calls: calls[key]?.length }).toEqual({ key, calls: 1 });
    expect({ key, error: calls[key]?.[0] }).toEqual({ key, error: name ?? expect.any(String) });
  }
}

function expectAllResolved(promises: Settled): void {
  expect(Object.entries(promises).filter(([, state]) => state !== 'resolved')).toEqual([]);
  expect(Object.keys(promises).length).toBeGreaterThan(0);
}

/** The callback contract: exactly once, never alongside a rejection, never a crash, and a clean exit after close. */
export function callbackCases(ctx: SuiteContext): void {
  describe('callback contract', () => {
    const scope = useScope(ctx, { label: 'cb' });
    const childTables: string[] = [];
    const tablesForChild = (count: number): string[] => {
      const names = Array.from({ length: count }, () => uniqueTableName('child'));
      childTables.push(...names);
      return names;
    };
    afterAll(async () => {
      for (const name of childTables) await ctx.knex.schema.dropTableIfExists(name);
    });

    it.each(METHODS)('%s calls its callback exactly once on success, and its promise resolves', async (method) => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession());
      const outcome = await call(scope.store, method, sid);
      expect(outcome).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
    });

    it.each(METHODS)(
      '%s calls its callback exactly once on a database error, and its promise still resolves',
      async (method) => {
        const store = scope.open({ tableName: scope.newTableName('gone'), createTable: false });
        const outcome = await call(store, method, 'some-sid');
        expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
        expect(errorName(outcome.error)).toBe('SessionTableMissingError');
      },
    );

    it('without a callback, a database error rejects the promise', async () => {
      const store = scope.open({ tableName: scope.newTableName('gone'), createTable: false });
      await expect(store.get('some-sid')).rejects.toMatchObject({ name: 'SessionTableMissingError' });
      await expect(store.set('some-sid', liveSession())).rejects.toMatchObject({ name: 'SessionTableMissingError' });
    });

    it('close() calls back once; later operations call back with StoreClosedError', async () => {
      const store = scope.open();
      await store.ready;
      const closed = await withCallback<void>((done) => store.close(done));
      expect(closed).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
      for (const method of METHODS) {
        const outcome = await call(store, method, 'some-sid');
        expect({ method, calls: outcome.calls, promise: outcome.promise, error: errorName(outcome.error) }).toEqual({
          method,
          calls: 1,
          promise: 'resolved',
          error: 'StoreClosedError',
        });
      }
      await expect(store.close()).resolves.toBeUndefined();
    });

    it('in a child process: a callback that throws is not called again, and its throw surfaces once', async () => {
      const report = await runChild<{ calls: Record<string, number>; promises: { ok: Settled; error: Settled } }>(
        ctx.target,
        'throwing-callbacks',
        tablesForChild(1),
      );
      const expected = [
        ...METHODS.map((method) => `ok.${method}`),
        ...['get', 'set', 'touch', 'destroy'].map((m) => `error.${m}`),
      ];
      expect(report.result.calls).toEqual(Object.fromEntries(expected.map((key) => [key, 1])));
      expect([...report.uncaught].sort()).toEqual(expected.map((key) => `Error: thrown by ${key}`).sort());
      expect(report.unhandled).toEqual([]);
      expectAllResolved(report.result.promises.ok);
      expectAllResolved(report.result.promises.error);
      expect(report.exitCode).toBe(0);
    }, 60_000);

    it('in a child process: database errors with callbacks leave no unhandled rejection', async () => {
      type Group = { promises: Settled; calls: CallLog };
      const report = await runChild<{
        dropped: Group;
        droppedTouch: { calls: CallLog };
        missing: Group;
        destroyed: Group;
        aborted: Group;
        pruneErrors: number;
      }>(ctx.target, 'database-errors', tablesForChild(5));
      expect(report.unhandled).toEqual([]);
      expect(report.uncaught).toEqual([]);
      const { dropped, droppedTouch, missing, destroyed, aborted, pruneErrors } = report.result;
      expectEachCalledOnceWithError(dropped.calls, 'dropped');
      expectAllResolved(dropped.promises);
      expect(droppedTouch.calls['dropped-touch.touch']).toHaveLength(1);
      expect(typeof droppedTouch.calls['dropped-touch.touch']?.[0]).toBe('string');
      expectEachCalledOnceWithError(missing.calls, 'missing', 'SessionTableMissingError');
      expectAllResolved(missing.promises);
      expectEachCalledOnceWithError(destroyed.calls, 'destroyed');
      expectAllResolved(destroyed.promises);
      expectEachCalledOnceWithError(aborted.calls, 'aborted');
      expectAllResolved(aborted.promises);
      expect(pruneErrors).toBeGreaterThan(0);
      expect(report.exitCode).toBe(0);
    }, 60_000);

    it('in a child process: close() waits for writes in flight, and the process then exits by itself', async () => {
      const report = await runChild<{
        inflight: string[];
        rows: number;
        afterClose: { promises: Settled; calls: CallLog };
      }>(ctx.target, 'lifecycle', tablesForChild(1));
      expect(report.result.inflight).toEqual(Array(10).fill('fulfilled'));
      expect(report.result.rows).toBe(10);
      expectEachCalledOnceWithError(report.result.afterClose.calls, 'closed', 'StoreClosedError');
      expectAllResolved(report.result.afterClose.promises);
      expect(report.unhandled).toEqual([]);
      expect(report.uncaught).toEqual([]);
      expect(report.exitCode).toBe(0);
    }, 60_000);
  });
}
