import net from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Knex } from 'knex';
import { DEFAULT_OPERATION_TIMEOUT_MS, OPERATION_TIMEOUT_CODE, type KnexStore, type KnexStoreOptions } from '@csk/core';

/** A TCP server on 127.0.0.1 that accepts connections and never answers, as a database behind dropped packets. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * With default options, a store on a server that accepts connections and never answers fails each request once
 * `operationTimeout`'s default has passed, instead of leaving it waiting for TCP to give up. Bounded, not timed:
 * jest's clock is advanced by exactly the default, so the test takes no ten seconds, and the check is that the
 * request then fails with the timeout's code. `knexConfig(port)` is the dialect's knex config for 127.0.0.1:`port`,
 * with no driver-level timeout at or below the default (the driver must not give up first).
 */
export function describeBlackHole(
  title: string,
  knexConfig: (port: number) => Knex.Config,
  createStore: (options: KnexStoreOptions) => KnexStore,
  createKnex: (config: Knex.Config) => Knex,
): void {
  describe(`${title}: a server that never answers`, () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    it(`fails a request after the default operationTimeout (${DEFAULT_OPERATION_TIMEOUT_MS} ms) instead of hanging`, async () => {
      const hole = await blackHole();
      const knex = createKnex(knexConfig(hole.port));
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const store = createStore({ knex, cleanupInterval: 0 });
      try {
        const outcome = store.get('any-sid').then(
          () => 'answered',
          (error: unknown) => error,
        );
        await jest.advanceTimersByTimeAsync(DEFAULT_OPERATION_TIMEOUT_MS - 1);
        let settled = false;
        void outcome.then(() => (settled = true));
        await jest.advanceTimersByTimeAsync(0);
        expect(settled).toBe(false);
        await jest.advanceTimersByTimeAsync(1);
        await expect(outcome).resolves.toMatchObject({
          name: 'DatabaseError',
          operation: 'get',
          cause: { code: OPERATION_TIMEOUT_CODE },
        });
      } finally {
        jest.useRealTimers();
        // Closing the hole ends the connection attempts, so that the store and knex close at once.
        await hole.close();
        await store.close();
        await knex.destroy();
      }
    });
  });
}
