// One contender in a process of its own (so that its peak RSS is its own), driven by the runner over IPC:
// `setup` builds the store and writes the sessions, each `trial` runs the store-level loop, `close` reports the RSS.
// Store level: each request is a get then a set of the same session, through the callback API express-session uses,
// with `inFlight` requests in flight over `sids` sessions.
import { performance } from 'node:perf_hooks';
import { DAY_MS } from './config.mjs';
import { contender } from './contenders.mjs';
import { percentile } from './stats.mjs';

let opened;
let sids = [];
const latencies = new Float64Array(4_000_000);

const get = (store, sid) =>
  new Promise((resolve, reject) => store.get(sid, (error, value) => (error ? reject(error) : resolve(value))));
const set = (store, sid, sess) =>
  new Promise((resolve, reject) => store.set(sid, sess, (error) => (error ? reject(error) : resolve())));

/** A session as express-session hands it to a store: a cookie with a Date expiry, and some data. */
function sessionOf(index, visits) {
  return {
    cookie: { originalMaxAge: DAY_MS, expires: new Date(Date.now() + DAY_MS), secure: false, httpOnly: true, path: '/' },
    user: { id: index, name: `user ${index}`, email: `user${index}@example.test`, roles: ['reader', 'writer'] },
    visits,
  };
}

async function setup({ id, sids: count, touchAfter }) {
  opened = await contender(id).create({ id, touchAfter });
  sids = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(6, '0')}-${'x'.repeat(16)}`);
  for (let i = 0; i < sids.length; i += 64) {
    await Promise.all(sids.slice(i, i + 64).map((sid, j) => set(opened.store, sid, sessionOf(i + j, 0))));
  }
}

/** Run the loop for `ms`; when `record`, return req/s and latency percentiles (ms). */
async function loop({ ms, inFlight }, record) {
  const { store } = opened;
  let count = 0;
  let failures = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const index = Math.floor(Math.random() * sids.length);
      const sid = sids[index];
      const t0 = performance.now();
      try {
        const sess = await get(store, sid);
        await set(store, sid, sessionOf(index, (sess?.visits ?? 0) + 1));
      } catch (error) {
        failures++;
        if (failures === 1) console.error(`[${opened.id}]`, error);
      }
      if (record && count < latencies.length) latencies[count] = performance.now() - t0;
      count++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  if (!record) return undefined;
  const sorted = latencies.subarray(0, Math.min(count, latencies.length)).sort();
  return {
    rps: (count / elapsed) * 1000,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    requests: count,
    failures,
    cpuUs: (cpu.user + cpu.system) / count,
  };
}

/** One request at a time, `requests` of them: the mean µs per request (get then set), with nothing else in flight. */
async function sequential(requests) {
  const { store } = opened;
  const start = performance.now();
  for (let i = 0; i < requests; i++) {
    const index = Math.floor(Math.random() * sids.length);
    const sess = await get(store, sids[index]);
    await set(store, sids[index], sessionOf(index, (sess?.visits ?? 0) + 1));
  }
  return ((performance.now() - start) * 1000) / requests;
}

process.on('message', async (message) => {
  try {
    if (message.type === 'setup') {
      await setup(message);
      opened.id = message.id;
      await loop({ ms: message.warmupMs, inFlight: message.inFlight }, false);
      process.send({ type: 'ready' });
    } else if (message.type === 'trial') {
      await loop({ ms: message.warmupMs, inFlight: message.inFlight }, false);
      process.send({ type: 'result', result: await loop({ ms: message.trialMs, inFlight: message.inFlight }, true) });
    } else if (message.type === 'sequential') {
      process.send({ type: 'sequential', us: await sequential(message.requests) });
    } else if (message.type === 'close') {
      await opened?.close();
      process.send({ type: 'closed', maxRssKb: process.resourceUsage().maxRSS });
      process.disconnect();
    }
  } catch (error) {
    process.send({ type: 'error', error: String(error?.stack ?? error) });
  }
});
