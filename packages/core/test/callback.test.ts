import { settle } from '../src/index.js';
import { runChild } from './support/child.js';
import { everyStoreMethod } from './support/operations.js';
import { sessionWith, useFixtures, viaCallback } from './support/fixtures.js';

describe('settle', () => {
  it('calls the callback once with the value, after the caller has its promise', async () => {
    const received: unknown[][] = [];
    const promise = settle(Promise.resolve(42), (...args) => received.push(args));
    expect(received).toEqual([]);
    await expect(promise).resolves.toBe(42);
    await new Promise(process.nextTick);
    expect(received).toEqual([[null, 42]]);
  });

  it('gives an error to the callback and fulfils the promise', async () => {
    const error = new Error('boom');
    const { error: received } = await viaCallback((callback) => settle(Promise.reject(error), callback));
    expect(received).toBe(error);
    await expect(settle(Promise.reject(error), () => undefined)).resolves.toBeUndefined();
  });

  it('rejects the promise when no callback is given', async () => {
    const error = new Error('boom');
    await expect(settle(Promise.reject(error), undefined)).rejects.toBe(error);
  });
});

describe('every store method', () => {
  const fixtures = useFixtures();
  const session = sessionWith({ maxAge: 60_000 }, { user: 'ada' });

  const methods = everyStoreMethod(session, 'a', 'b');
  it.each(methods)('%s gives the same result to a callback and as a promise', async (_name, call) => {
    const viaPromise = fixtures.store();
    const viaCb = fixtures.store();
    for (const { store } of [viaPromise, viaCb]) await store.set('a', session);
    const expected = await call(viaPromise.store);
    const { error, value } = await viaCallback((callback) => call(viaCb.store, callback));
    expect(error).toBeNull();
    expect(value).toEqual(expected);
  });
});

// A callback that throws is the application's own uncaught exception; the store must not catch it and call the
// callback again, must not reject the promise, and must not leave unhandled rejections. That needs a real process.
describe('a throwing callback (in a child process)', () => {
  type Report = Record<string, Record<string, { received: string[]; settled: string }>> & {
    uncaught: string[];
    unhandled: string[];
  };
  let report: Report;

  beforeAll(async () => {
    const result = await runChild('throwing-callbacks');
    expect(result.stderr).toBe('');
    report = JSON.parse(result.stdout) as Report;
  });

  it.each([
    ['succeeded', 'success'],
    ['missing', 'SessionTableMissingError'],
    ['dropped', 'DatabaseError'],
    ['closed', 'StoreClosedError'],
  ])('runs exactly once when the operation %s, and the promise fulfils', (scenario, outcome) => {
    const methods = Object.values(report[scenario]!);
    expect(methods).toHaveLength(9);
    for (const method of methods) expect(method).toEqual({ received: [outcome], settled: 'fulfilled' });
  });

  it('surfaces each throw once as an uncaught exception, with no unhandled rejection', () => {
    const labels = ['succeeded', 'missing', 'dropped', 'closed'].flatMap((scenario) =>
      Object.keys(report[scenario]!).map((method) => `${scenario === 'succeeded' ? 'ok' : scenario}:${method}`),
    );
    expect([...report.uncaught].sort()).toEqual(labels.sort());
    expect(report.unhandled).toEqual([]);
  });
});
