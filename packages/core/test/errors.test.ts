import * as core from '../src/index.js';

it.each([
  [new core.ConfigurationError('ttl', 'must be positive'), 'ConfigurationError', 'option "ttl" must be positive'],
  [new core.DatabaseError('get', 'timeout'), 'DatabaseError', 'get failed: timeout'],
  [new core.InvalidSessionError('bad sid'), 'InvalidSessionError', 'bad sid'],
  [
    new core.SessionTableMissingError('app.sessions'),
    'SessionTableMissingError',
    'the session table app.sessions does not',
  ],
  [new core.StoreClosedError('set'), 'StoreClosedError', 'set called after close()'],
])('%s is a prefixed ConnectSessionKnexError with its own name', (error, name, text) => {
  expect(error).toBeInstanceOf(core.ConnectSessionKnexError);
  expect(error).toBeInstanceOf(Error);
  expect(error.name).toBe(name);
  expect(error.message.startsWith(`[connect-session-knex] ${text}`)).toBe(true);
});

it('keeps the original error as cause', () => {
  const cause = new Error('ECONNRESET');
  const error = new core.DatabaseError('set', cause);
  expect(error).toMatchObject({ cause, operation: 'set', message: expect.stringContaining('ECONNRESET') });
  expect(new core.ConnectSessionKnexError('wrapped', { cause }).cause).toBe(cause);
});
