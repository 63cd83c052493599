import { ConnectSessionKnexError } from '@csk/core';

/**
 * No adapter in this package serves the knex instance's client. `client` is the name that was looked up (for a
 * Client class, the class's name), and `supported` lists every client name that has an adapter.
 */
export class UnsupportedDialectError extends ConnectSessionKnexError {
  readonly client: string;
  readonly supported: readonly string[];

  constructor(client: string, supported: readonly string[], detail?: string) {
    super(
      `no adapter for the knex client "${client}"${detail ? ` (${detail})` : ''}. ` +
        `Supported clients: ${supported.join(', ')}. ` +
        'For another database, pass a DialectAdapter as the "adapter" option.',
    );
    this.client = client;
    this.supported = supported;
  }
}
