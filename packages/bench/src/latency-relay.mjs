// The latency relay's process (see latency.mjs): for each target server, a TCP listener on 127.0.0.1 whose every
// connection is piped to the server; what the server sends is held `delayMs` before it is passed on. Told its targets
// over IPC, it answers the port of each; it ends when its parent disconnects or kills it.
import net from 'node:net';

function relay(target, delayMs) {
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: target.host, port: target.port, noDelay: true });
    // Requests pass at once; replies wait a round trip. Timers of one duration fire in the order they were set, so
    // the reply stream keeps its order.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
      }, delayMs);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    // A server that hangs up: pass that on once its last replies are through.
    upstream.on('close', () => setTimeout(end, delayMs)).on('error', () => setTimeout(end, delayMs));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

process.once('message', async ({ targets, delayMs }) => {
  try {
    const ports = {};
    for (const target of targets) ports[target.name] = await relay(target, delayMs);
    process.send({ ports });
  } catch (error) {
    process.send({ error: String(error?.stack ?? error) });
  }
});
process.once('disconnect', () => process.exit(0));
