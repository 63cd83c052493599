import {
  ConfigurationError,
  ConnectSessionKnexError,
  DatabaseError,
  InvalidSessionError,
  SessionTableMissingError,
  StoreClosedError,
} from '../src/index.js';

it.each([
  [new ConfigurationError('ttl', 'must be positive'), 'ConfigurationError', 'option "ttl" must be positive'],
  [new DatabaseError('get', 'timeout'), 'DatabaseError', 'get failed: timeout'],
  [new InvalidSessionError('bad sid'), 'InvalidSessionError', 'bad sid'],
  [new SessionTableMissingError('app.sessions'), 'SessionTableMissingError', 'the session table app.sessions does not'],
  [new StoreClosedError('set'), 'StoreClosedError', 'set called after close()'],
])('%s is a prefixed ConnectSessionKnexError with its own name', (error, name, text) => {
  expect(error).toBeInstanceOf(ConnectSessionKnexError);
  expect(error).toBeInstanceOf(Error);
  expect(error.name).toBe(name);
  expect(error.message.startsWith(`[connect-session-knex] ${text}`)).toBe(true);
});

it('keeps the original error as cause', () => {
  const cause = new Error('ECONNRESET');
  const error = new DatabaseError('set', cause);
  expect(error).toMatchObject({ cause, operation: 'set', message: expect.stringContaining('ECONNRESET') });
  expect(new ConnectSessionKnexError('wrapped', { cause }).cause).toBe(cause);
});
