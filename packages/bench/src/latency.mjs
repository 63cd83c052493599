// The database behind real latency: the bench run again with every database connection through a relay that holds
// each server reply for a round trip's time, as if the servers sat a LAN hop away (loopback hides round trips: a
// store that sends two statements per request pays two of them here).
//
// Why a relay and not `tc netem`: the kernel of the machines this project runs on has no netem qdisc (no
// sch_netem, and no modules to load), so a veth pair with `tc qdisc … netem delay` cannot be set up here. The relay
// does the same to what the stores see: each chunk from a server reaches the client `roundTripMs` later (Node's
// timers have millisecond resolution, so the round trip is whole milliseconds, at least 1), requests pass at once,
// order is kept. It runs in a process of its own, on 127.0.0.1 only, and ends with the run.
import { fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `url` with its host and port replaced by the relay's. */
function relayed(url, port) {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

/**
 * Run `argv` (a node script and its arguments) with `env` plus the URL variables of `servers` pointing at relays
 * that delay every server reply by `roundTripMs`. Resolves the child's exit code; stops the relay in any case.
 * `servers`: `{ name, url, defaultPort, env }`, `env` being the variable that holds the server's URL.
 */
export async function runBehindLatency({ roundTripMs, servers, argv, env = process.env }) {
  const relay = fork(fileURLToPath(new URL('./latency-relay.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => relay.once('exit', resolve));
  try {
    const targets = servers.map((server) => {
      const parsed = new URL(server.url);
      return { name: server.env, host: parsed.hostname, port: Number(parsed.port || server.defaultPort) };
    });
    const ports = await new Promise((resolve, reject) => {
      relay.once('message', (message) => (message.error ? reject(new Error(message.error)) : resolve(message.ports)));
      relay.once('exit', (code) => reject(new Error(`the latency relay exited (${code}) at start`)));
      relay.send({ targets, delayMs: roundTripMs });
    });
    const childEnv = { ...env };
    for (const server of servers) childEnv[server.env] = relayed(server.url, ports[server.env]);
    const child = spawn(process.execPath, argv, { stdio: 'inherit', env: childEnv });
    return await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  } finally {
    if (relay.exitCode === null) relay.kill();
    await exited;
  }
}
