import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knex as createKnex, type Knex } from 'knex';
import { BaseDialectAdapter } from '@csk/core';
import { DEFAULT_SQLITE_FILENAME } from '@csk/sqlite';
import {
  ConfigurationError,
  ConnectSessionKnexError,
  ConnectSessionKnexStore,
  SqliteAdapter,
  selectAdapter,
  supportedClients,
  UnsupportedDialectError,
} from 'connect-session-knex';
import { ADAPTERS } from '../src/adapters.js';

// knex's own lists and client classes, as the installed knex defines them.
const { SUPPORTED_CLIENTS } = require('knex/lib/constants') as { SUPPORTED_CLIENTS: readonly string[] };
type ClientClass = typeof Knex.Client;
const SqliteClient = require('knex/lib/dialects/sqlite3') as ClientClass;
const BetterSqliteClient = require('knex/lib/dialects/better-sqlite3') as ClientClass;

const SQLITE_ALIASES = ['sqlite3', 'sqlite', 'better-sqlite3'];
const silent = { warn() {}, error() {}, deprecate() {}, debug() {} };

/** A knex without a connection: knex loads no driver then, so any client name can be built. */
function bareKnex(client: string | ClientClass): Knex {
  return createKnex({ client, log: silent, useNullAsDefault: true });
}

function memoryKnex(client: string | ClientClass): Knex {
  return createKnex({ client, connection: { filename: ':memory:' }, useNullAsDefault: true, log: silent });
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  jest.restoreAllMocks();
});

/** A store on `db` whose round trip must work; closed (and the knex destroyed) after the test. */
async function roundTrip(store: ConnectSessionKnexStore, db: Knex): Promise<void> {
  cleanups.push(() => db.destroy(), () => store.close());
  const session = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() }, n: 1 };
  await store.set('round-trip', session as never);
  expect(await store.get('round-trip')).toEqual(session);
}

describe('the adapter table', () => {
  it('is frozen and lists its names in the error', () => {
    expect(Object.isFrozen(ADAPTERS)).toBe(true);
    expect(supportedClients()).toEqual(Object.keys(ADAPTERS).sort());
    expect(supportedClients()).toEqual(expect.arrayContaining(SQLITE_ALIASES));
  });

  it('has only keys knex knows: client names, or the dialect and driver names of its clients', () => {
    const known = new Set<string>(SUPPORTED_CLIENTS);
    for (const client of SUPPORTED_CLIENTS) {
      const db = bareKnex(client);
      known.add(String(db.client.dialect));
      known.add(String(db.client.driverName));
    }
    for (const key of Object.keys(ADAPTERS)) expect(known).toContain(key);
  });

  it('gives every client name knex accepts an adapter of its dialect, or refuses it by name', () => {
    for (const client of SUPPORTED_CLIENTS) {
      const db = bareKnex(client);
      if (Object.hasOwn(ADAPTERS, client)) {
        const adapter = selectAdapter(db);
        expect(adapter.capabilities.dialects ?? [db.client.dialect]).toContain(db.client.dialect);
      } else {
        expect(() => selectAdapter(db)).toThrow(UnsupportedDialectError);
      }
    }
  });

  it('makes a fresh adapter for each store', () => {
    expect(selectAdapter(bareKnex('sqlite3'))).not.toBe(selectAdapter(bareKnex('sqlite3')));
  });
});

describe('selecting the adapter from a knex client name', () => {
  it.each(SQLITE_ALIASES)('picks the SQLite adapter for "%s", and the store works', async (client) => {
    const db = memoryKnex(client);
    const store = new ConnectSessionKnexStore({ knex: db, cleanupInterval: 0 });
    expect(store.adapter).toBeInstanceOf(SqliteAdapter);
    await roundTrip(store, db);
  });

  it('reads a knex configured with the "dialect" key instead of "client"', () => {
    const db = createKnex({ dialect: 'sqlite3', log: silent, useNullAsDefault: true } as Knex.Config);
    expect(selectAdapter(db)).toBeInstanceOf(SqliteAdapter);
  });
});

describe('selecting the adapter from a Client class', () => {
  it('handles a subclass of knex\'s sqlite3 client through its dialect', async () => {
    class AuditedSqliteClient extends SqliteClient {}
    const db = memoryKnex(AuditedSqliteClient);
    expect(typeof db.client.config.client).toBe('function');
    const store = new ConnectSessionKnexStore({ knex: db, cleanupInterval: 0 });
    expect(store.adapter).toBeInstanceOf(SqliteAdapter);
    await roundTrip(store, db);
  });

  it('handles knex\'s better-sqlite3 client class passed directly', async () => {
    const db = memoryKnex(BetterSqliteClient);
    const store = new ConnectSessionKnexStore({ knex: db, cleanupInterval: 0 });
    expect(store.adapter).toBeInstanceOf(SqliteAdapter);
    await roundTrip(store, db);
  });

  it('falls back to the driver name when the dialect is unknown', () => {
    class Driver {}
    const client = { config: { client: Driver }, dialect: 'sqlite-fork', driverName: 'better-sqlite3' };
    const adapter = selectAdapter({ client });
    expect(adapter).toBeInstanceOf(SqliteAdapter);
  });

  it('refuses a class whose dialect and driver are both unknown, naming the class', () => {
    class GraphClient {}
    const client = { config: { client: GraphClient }, dialect: 'graph', driverName: 'graph-driver' };
    const attempt = () => selectAdapter({ client });
    expect(attempt).toThrow(UnsupportedDialectError);
    expect(attempt).toThrow(/"GraphClient" \(dialect "graph", driver "graph-driver"\)/);
  });
});

/** An adapter for no particular dialect: ISO-text expiry, so it runs on SQLite as the tests need. */
class PortableAdapter extends BaseDialectAdapter {
  override readonly name = 'portable';
  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString();
  }
}

describe('an explicit adapter', () => {
  it('wins over the lookup', async () => {
    const db = memoryKnex('sqlite3');
    const adapter = new PortableAdapter();
    const store = new ConnectSessionKnexStore({ knex: db, adapter, cleanupInterval: 0 });
    expect(store.adapter).toBe(adapter);
    await roundTrip(store, db);
  });

  it('serves a client the table does not know', async () => {
    class OddClient extends SqliteClient {}
    Object.assign(OddClient.prototype, { dialect: 'oddsql', driverName: 'odd' });
    const db = memoryKnex(OddClient);
    expect(() => new ConnectSessionKnexStore({ knex: db })).toThrow(UnsupportedDialectError);
    const store = new ConnectSessionKnexStore({ knex: db, adapter: new PortableAdapter(), cleanupInterval: 0 });
    await roundTrip(store, db);
  });

  it('is not reported as an unknown option', async () => {
    const warnings: string[] = [];
    jest.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error) => {
      warnings.push(String(warning));
    });
    const db = memoryKnex('sqlite3');
    const store = new ConnectSessionKnexStore({ knex: db, adapter: new PortableAdapter(), cleanupInterval: 0 });
    await roundTrip(store, db);
    expect(warnings.filter((warning) => warning.includes('adapter'))).toEqual([]);
  });

  it('must be a DialectAdapter', () => {
    const db = bareKnex('sqlite3');
    const attempt = () => new ConnectSessionKnexStore({ knex: db, adapter: { name: 'half' } as never });
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/"adapter".*lacks capabilities, columns, catalog, encodeExpiry, upsert, classifyError/);
  });
});

describe('refusals', () => {
  it('refuses a client name without an adapter with UnsupportedDialectError listing the supported names', () => {
    const db = bareKnex('redshift');
    let error: unknown;
    try {
      new ConnectSessionKnexStore({ knex: db });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnsupportedDialectError);
    expect(error).toBeInstanceOf(ConnectSessionKnexError);
    const unsupported = error as UnsupportedDialectError;
    expect(unsupported.name).toBe('UnsupportedDialectError');
    expect(unsupported.client).toBe('redshift');
    expect(unsupported.supported).toEqual(supportedClients());
    expect(unsupported.message).toMatch(/^\[connect-session-knex\] no adapter for the knex client "redshift"/);
    for (const name of supportedClients()) expect(unsupported.message).toContain(name);
  });

  it('refuses a knex-like object of an unknown client', () => {
    const fake = Object.assign(() => undefined, {
      schema: { hasTable: async () => true },
      client: { config: { client: 'nosql' }, dialect: 'nosql' },
    });
    expect(() => new ConnectSessionKnexStore({ knex: fake as unknown as Knex })).toThrow(UnsupportedDialectError);
  });

  describe('in a temporary working directory', () => {
    let cwd: string;
    let dir: string;
    // Refused options must fail before the default database file is created.
    beforeEach(() => {
      cwd = process.cwd();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-selection-'));
      process.chdir(dir);
    });
    afterEach(() => {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('refuses the typo { db: knex } with core\'s ConfigurationError', () => {
      const attempt = () => new ConnectSessionKnexStore({ db: bareKnex('sqlite3') } as never);
      expect(attempt).toThrow(ConfigurationError);
      expect(attempt).toThrow(/"db".*"knex"/);
      expect(fs.existsSync(path.join(dir, DEFAULT_SQLITE_FILENAME))).toBe(false);
    });

    it('refuses a knex option that is no knex, and options that are no object', () => {
      expect(() => new ConnectSessionKnexStore({ knex: 'sqlite3' as never })).toThrow(ConfigurationError);
      expect(() => new ConnectSessionKnexStore('sqlite3' as never)).toThrow(ConfigurationError);
      expect(fs.existsSync(path.join(dir, DEFAULT_SQLITE_FILENAME))).toBe(false);
    });
  });
});
