import { ConfigurationError } from '../../src/errors.js';

/** The ConfigurationError `run` throws, for checks of its fields and message; fails the test if it throws none. */
export function configurationError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}
