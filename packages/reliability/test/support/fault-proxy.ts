import net from 'node:net';

/** What the proxy does with traffic. */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole' | 'delay';

/** One relayed connection: the application's socket, the database's, and what waits to cross while stalled. */
interface Pair {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  /** Bytes held while stalled (or before the upstream exists), in order, each with the socket that must receive it. */
  readonly held: Array<{ to: Direction; chunk: Buffer }>;
  /** Bytes on their way in each direction, each with the time it may cross: one queue keeps the stream in order. */
  readonly queued: Record<Direction, Array<{ at: number; chunk: Buffer }>>;
  readonly timers: Record<Direction, NodeJS.Timeout | undefined>;
}

type Direction = 'client' | 'upstream';

/**
 * A TCP proxy on 127.0.0.1 between knex and a real database server, for fault tests. Modes:
 * - `pass`: relays both ways.
 * - `refuse`: nothing listens on the port any more, so a new connection gets ECONNREFUSED (existing ones stay).
 * - `blackhole`: bytes stop crossing in both directions and new connections are accepted but go nowhere, as when
 *   packets are dropped; when the mode ends, what was held crosses in order (TCP retransmission after a partition
 *   heals) and held connections reach the server.
 * - `delay`: every chunk crosses `delayMs` late, in order.
 * `cut()` resets every open connection (both sides see ECONNRESET), whatever the mode; `cutOneByOne()` resets them one
 * at a time.
 */
export class FaultProxy {
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<Pair>();
  #server: net.Server | undefined;
  #port = 0;
  #mode: ProxyMode = 'pass';
  #delayMs = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  /** Start a proxy to `host:port` on a free port of 127.0.0.1. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await proxy.#listen(0);
    return proxy;
  }

  /** The port knex should connect to. */
  get port(): number {
    return this.#port;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Switch mode. Leaving `refuse` listens again on the same port; leaving `blackhole` lets held bytes through. */
  async setMode(mode: ProxyMode, { delayMs = 0 }: { delayMs?: number } = {}): Promise<void> {
    const previous = this.#mode;
    this.#mode = mode;
    this.#delayMs = delayMs;
    if (mode === 'refuse' && this.#server) {
      // close() stops listening at once; its callback would wait for the open connections, which stay.
      this.#server.close();
      this.#server = undefined;
    }
    if (mode !== 'refuse' && !this.#server) await this.#listen(this.#port);
    if (previous === 'blackhole' && mode !== 'blackhole') {
      for (const pair of this.#pairs) this.#release(pair);
    }
  }

  /** Reset every open connection, on both sides. */
  cut(): void {
    for (const pair of this.#pairs) this.#drop(pair, true);
  }

  /**
   * Reset the connections open now one at a time, oldest first, `gapMs` apart, as a server that drains its sessions
   * does; resolves once the last is reset. Those not reset yet carry on meanwhile.
   */
  async cutOneByOne(gapMs: number): Promise<void> {
    const pairs = [...this.#pairs];
    for (const [index, pair] of pairs.entries()) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      this.#drop(pair, true);
    }
  }

  /** Reset every connection and stop listening. */
  async close(): Promise<void> {
    this.cut();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #listen(port: number): Promise<void> {
    const server = net.createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as net.AddressInfo).port;
  }

  #accept(client: net.Socket): void {
    const pair: Pair = {
      client,
      upstream: undefined,
      held: [],
      queued: { client: [], upstream: [] },
      timers: { client: undefined, upstream: undefined },
    };
    this.#pairs.add(pair);
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.#forward(pair, 'upstream', chunk));
    client.on('error', () => this.#drop(pair, true));
    client.on('close', () => this.#drop(pair, false));
    if (this.#mode !== 'blackhole') this.#connectUpstream(pair);
  }

  #connectUpstream(pair: Pair): void {
    if (pair.upstream || pair.client.destroyed) return;
    const upstream = net.connect(this.#target);
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('data', (chunk: Buffer) => this.#forward(pair, 'client', chunk));
    upstream.on('error', () => this.#drop(pair, true));
    upstream.on('close', () => this.#drop(pair, false));
    upstream.on('connect', () => this.#flush(pair));
  }

  #forward(pair: Pair, to: Direction, chunk: Buffer): void {
    if (this.#mode === 'blackhole' || pair.held.length > 0 || !pair.upstream || pair.upstream.connecting) {
      pair.held.push({ to, chunk });
      return;
    }
    this.#enqueue(pair, to, chunk);
  }

  /** Send `chunk` now, or `delayMs` from now in delay mode, and never before what was queued ahead of it. */
  #enqueue(pair: Pair, to: Direction, chunk: Buffer): void {
    const delay = this.#mode === 'delay' ? this.#delayMs : 0;
    const queue = pair.queued[to];
    if (delay <= 0 && queue.length === 0) {
      this.#write(pair, to, chunk);
      return;
    }
    queue.push({ at: Date.now() + delay, chunk });
    this.#drain(pair, to);
  }

  #drain(pair: Pair, to: Direction): void {
    const queue = pair.queued[to];
    while (queue.length > 0 && queue[0]!.at <= Date.now()) this.#write(pair, to, queue.shift()!.chunk);
    clearTimeout(pair.timers[to]);
    pair.timers[to] = queue.length > 0 ? setTimeout(() => this.#drain(pair, to), queue[0]!.at - Date.now()) : undefined;
  }

  #write(pair: Pair, to: Direction, chunk: Buffer): void {
    const socket = to === 'client' ? pair.client : pair.upstream;
    if (socket && !socket.destroyed) socket.write(chunk);
  }

  /** After a blackhole: connect what never reached the server, and let held bytes through. */
  #release(pair: Pair): void {
    if (!pair.upstream) this.#connectUpstream(pair);
    else this.#flush(pair);
  }

  #flush(pair: Pair): void {
    if (this.#mode === 'blackhole' || !pair.upstream || pair.upstream.connecting) return;
    for (const { to, chunk } of pair.held.splice(0)) this.#enqueue(pair, to, chunk);
  }

  #drop(pair: Pair, reset: boolean): void {
    if (!this.#pairs.delete(pair)) return;
    clearTimeout(pair.timers.client);
    clearTimeout(pair.timers.upstream);
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.end();
    }
  }
}
