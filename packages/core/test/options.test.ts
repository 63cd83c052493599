import {
  ConfigurationError,
  ConnectSessionKnexError,
  DEFAULT_CLEANUP_INTERVAL_MS,
  DEFAULT_TTL_MS,
  KnexStore,
  resolveOptions,
} from '../src/index.js';
import { configurationError } from './support/errors.js';
import { sessionWith, useFixtures } from './support/fixtures.js';
import { RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
let warnings: { message: string; type?: string; code?: string }[];

beforeEach(() => {
  warnings = [];
  const record = (message: string, options?: { type?: string; code?: string }): void => {
    warnings.push({ message, type: options?.type, code: options?.code });
  };
  jest.spyOn(process, 'emitWarning').mockImplementation(record as typeof process.emitWarning);
});
afterEach(() => jest.restoreAllMocks());

describe('defaults', () => {
  it('fills in every option', () => {
    const options = resolveOptions({ tableName: undefined });
    expect(options).toMatchObject({
      knex: undefined,
      tableName: 'sessions',
      schemaName: undefined,
      sidFieldName: 'sid',
      createTable: true,
      cleanupInterval: DEFAULT_CLEANUP_INTERVAL_MS,
      disableTouch: false,
    });
    expect(DEFAULT_CLEANUP_INTERVAL_MS).toBe(60_000);
    expect(options.ttl(sessionWith(null))).toBe(DEFAULT_TTL_MS);
    expect(DEFAULT_TTL_MS).toBe(86_400_000);
    expect(typeof options.onDbCleanupError).toBe('function');
    expect(Object.isFrozen(options)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('accepts no argument at all', () => {
    expect(resolveOptions(undefined).tableName).toBe('sessions');
  });

  it('builds the table and columns the options name', async () => {
    const { store, knex } = fixtures.store({ tableName: 'my_sessions', sidFieldName: 'id' });
    await store.set('a', sessionWith({ maxAge: 1000 }));
    expect(await knex('my_sessions').pluck('id')).toEqual(['a']);
  });

  it('takes a ttl as a number or a function, and a negative cleanupInterval as 0', () => {
    expect(resolveOptions({ ttl: 5000 }).ttl(sessionWith(null))).toBe(5000);
    const ttl = (session: { short?: boolean }): number => (session.short ? 1 : 2);
    expect(resolveOptions({ ttl }).ttl(sessionWith(null, { short: true }))).toBe(1);
    expect(resolveOptions({ cleanupInterval: -1 }).cleanupInterval).toBe(0);
  });
});

describe('a dotted tableName, as connect-session-knex 5 passed it to knex', () => {
  it('means schemaName + tableName, with one warning for the process', () => {
    const resolved = resolveOptions({ tableName: 'app.sessions' });
    expect([resolved.schemaName, resolved.tableName]).toEqual(['app', 'sessions']);
    resolveOptions({ tableName: 'other.sessions' });
    expect(warnings).toEqual([
      expect.objectContaining({
        code: 'CSK_DOTTED_TABLE_NAME',
        message: expect.stringContaining('schemaName: "app", tableName: "sessions"'),
      }),
    ]);
  });

  it.each([
    [{ tableName: 'a.b.sessions' }, /ambiguous.*pass the schema as schemaName/],
    [{ tableName: 'app.sessions', schemaName: 'app' }, /pass the schema once, as schemaName: "app", tableName: "sessions"/],
  ])('refuses the ambiguous %p, saying what to write', (options, message) => {
    expect(configurationError(() => resolveOptions(options)).message).toMatch(message);
  });

  it('checks each part as a name of its own', () => {
    expect(configurationError(() => resolveOptions({ tableName: 'app.se?ss' })).option).toBe('tableName');
    expect(configurationError(() => resolveOptions({ tableName: ' app.sessions' })).option).toBe('schemaName');
  });
});

describe('validation', () => {
  it.each([
    ['tableName', 5],
    ['tableName', ''],
    ['tableName', 'a.b.sessions'],
    ['tableName', '.sessions'],
    ['tableName', 'public.'],
    ['tableName', 'x'.repeat(129)],
    ['tableName', 'a\0b'],
    ['tableName', null],
    ['schemaName', 3],
    ['sidFieldName', {}],
    ['createTable', 'yes'],
    ['cleanupInterval', '60s'],
    ['cleanupInterval', Number.NaN],
    ['cleanupInterval', 2 ** 31],
    ['cleanupInterval', null],
    ['onDbCleanupError', 'log'],
    ['onDbCleanupError', null],
    ['ttl', 0],
    ['ttl', -1],
    ['ttl', '1d'],
    ['ttl', Number.POSITIVE_INFINITY],
    ['disableTouch', 1],
    ['knex', {}],
    ['knex', 'postgres://localhost'],
  ])('%s = %p throws a ConfigurationError naming it', (option, value) => {
    const error = configurationError(() => resolveOptions({ [option]: value }));
    expect(error.option).toBe(option);
    expect(error.message).toMatch(new RegExp(`^\\[connect-session-knex\\] option "${option}" `));
    expect(error).toBeInstanceOf(ConnectSessionKnexError);
  });

  it.each([['a string'], [[]], [42]])('refuses %p as the options object', (value) => {
    expect(configurationError(() => resolveOptions(value)).option).toBe('options');
  });

  it('throws from the constructor, before touching any database', () => {
    const adapter = new RecordingAdapter();
    expect(() => new KnexStore({ knex: fixtures.knex(), tableName: '' }, adapter)).toThrow(ConfigurationError);
    expect(adapter.calls).toEqual([]);
  });

  it('points at "knex" when a knex instance is passed under another key', () => {
    const error = configurationError(() => new KnexStore({ db: fixtures.knex() } as never, new RecordingAdapter()));
    expect(error.option).toBe('knex');
    expect(error.message).toContain('"db"');
  });

  it('requires knex when the adapter has no default database', () => {
    expect(configurationError(() => new KnexStore({}, new RecordingAdapter())).option).toBe('knex');
  });

  it('refuses a knex of a dialect the adapter does not serve, and accepts one it does', () => {
    const knex = fixtures.knex();
    const error = configurationError(() => new KnexStore({ knex }, new RecordingAdapter({ dialects: ['postgresql'] })));
    expect(error.option).toBe('knex');
    expect(error.message).toContain('recording');
    expect(() => fixtures.store({ knex }, new RecordingAdapter({ dialects: ['postgresql', 'sqlite3'] }))).not.toThrow();
  });
});

describe('legacy option names', () => {
  // The warning is once per process and this file is one module scope: these run before any other use of the keys.
  it.each([
    ['tablename', 'legacy_sessions', { tableName: 'legacy_sessions' }],
    ['sidfieldname', 'id', { sidFieldName: 'id' }],
    ['createtable', false, { createTable: false }],
    ['clearInterval', 5000, { cleanupInterval: 5000 }],
    ['disableDbCleanup', true, { cleanupInterval: 0 }],
  ])('%s still works, with one deprecation warning', (legacy, value, expected) => {
    expect(resolveOptions({ [legacy]: value })).toMatchObject(expected);
    expect(resolveOptions({ [legacy]: value })).toMatchObject(expected);
    expect(warnings).toEqual([
      expect.objectContaining({ type: 'DeprecationWarning', message: expect.stringContaining(`"${legacy}"`) }),
    ]);
  });

  it('keeps the default prune for disableDbCleanup: false', () => {
    expect(resolveOptions({ disableDbCleanup: false }).cleanupInterval).toBe(DEFAULT_CLEANUP_INTERVAL_MS);
  });

  it.each([
    ['tablename', 5],
    ['createtable', 'no'],
    ['clearInterval', 'often'],
    ['disableDbCleanup', 'yes'],
  ])('names %s itself when its value has the wrong type', (legacy, value) => {
    expect(configurationError(() => resolveOptions({ [legacy]: value })).option).toBe(legacy);
  });

  it('refuses a legacy key that contradicts its current name, and accepts one that agrees', () => {
    expect(configurationError(() => resolveOptions({ tablename: 'a', tableName: 'b' })).option).toBe('tablename');
    expect(configurationError(() => resolveOptions({ disableDbCleanup: true, cleanupInterval: 5 })).option).toBe(
      'disableDbCleanup',
    );
    expect(resolveOptions({ tablename: 'a', tableName: 'a' }).tableName).toBe('a');
  });
});

it('warns once about an unknown option and ignores it', () => {
  expect(resolveOptions({ tabelName: 'x' }).tableName).toBe('sessions');
  resolveOptions({ tabelName: 'x' });
  expect(warnings).toEqual([expect.objectContaining({ message: expect.stringContaining('"tabelName"') })]);
});
