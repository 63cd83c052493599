// The HTTP scenarios: each contender behind express 5 + express-session in a child process, loaded by autocannon from
// this process. All servers start and log their users in first; then, per scenario, rounds in which each contender
// runs one trial, back to back, in an order that rotates every round, each trial right after a short warm-up.
import autocannon from 'autocannon';
import { Child } from './child.mjs';
import { databaseCpuUs } from './database-cpu.mjs';
import { rotate } from './store-phase.mjs';

/** How long /read with touchAfter lets a touch send nothing after the last expiry write (ms). */
export const BENCH_TOUCH_AFTER_MS = 10_000;

/** The HTTP scenarios. `roles` limits a scenario to contenders of those roles (all when absent). */
export const SCENARIOS = [
  { id: 'write', label: '/write (session changed every request)', path: '/write', login: true },
  { id: 'read', label: '/read (unchanged, ends in touch)', path: '/read', login: true },
  {
    id: 'read-touch-after',
    label: `/read with touchAfter: ${BENCH_TOUCH_AFTER_MS} ms`,
    path: '/read',
    login: true,
    touchAfter: BENCH_TOUCH_AFTER_MS,
    roles: ['ours', 'memory'],
  },
  { id: 'new', label: 'new sessions (no cookie)', path: '/new', login: false },
];

/** Log `users` users in on the server at `port`, 16 at a time; resolve each one's cookie header. */
async function login(port, users) {
  const cookies = new Array(users);
  let next = 0;
  const worker = async () => {
    while (next < users) {
      const n = next++;
      const response = await fetch(`http://127.0.0.1:${port}/login/${n}`);
      await response.arrayBuffer();
      const cookie = response.headers.getSetCookie?.()[0] ?? response.headers.get('set-cookie');
      if (response.status !== 200 || !cookie) throw new Error(`login of user ${n} failed (${response.status})`);
      cookies[n] = cookie.split(';')[0];
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return cookies;
}

/** One autocannon run against `port` for `ms`, each request carrying the next user's cookie (or none). */
function load(port, scenario, cookies, connections, ms) {
  let next = 0;
  const request = { method: 'GET', path: scenario.path };
  if (cookies) {
    request.setupRequest = (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } });
  }
  return autocannon({ url: `http://127.0.0.1:${port}`, connections, duration: ms / 1000, requests: [request] });
}

/**
 * Run every scenario. One server per contender serves all of them (its users log in once), plus, for each of ours, a
 * second server whose store has `touchAfter`, for the scenario that measures it. Resolves, per scenario id, each
 * contender's trials, and the peak RSS of its server over the whole HTTP run.
 */
export async function runHttpPhase(contenders, size, log, scenarios = SCENARIOS) {
  const servers = [
    ...contenders.map((c) => ({ key: c.id, contender: c, touchAfter: undefined })),
    ...contenders
      .filter((c) => c.role === 'ours' && scenarios.some((s) => s.touchAfter))
      .map((c) => ({ key: `${c.id}+touchAfter`, contender: c, touchAfter: BENCH_TOUCH_AFTER_MS })),
  ];
  const results = Object.fromEntries(scenarios.map((s) => [s.id, new Map()]));
  try {
    for (const server of servers) {
      server.child = new Child('http-child', server.key);
      const { port } = await server.child.ask({ type: 'setup', id: server.contender.id, touchAfter: server.touchAfter });
      server.port = port;
      server.cookies = await login(port, size.users);
      // A first warm-up, so that a server's first scenario is not also its JIT compiler's.
      await load(port, SCENARIOS.find((s) => s.id === 'read'), server.cookies, size.connections, size.warmupMs);
    }
    log(`  ${servers.length} servers ready, ${size.users} users logged in on each`);
    for (const scenario of scenarios) {
      const chosen = servers.filter(
        (s) =>
          (!scenario.roles || scenario.roles.includes(s.contender.role)) &&
          // With touchAfter, ours runs on its touchAfter server; everyone else on their only one.
          (s.touchAfter !== undefined) === (Boolean(scenario.touchAfter) && s.contender.role === 'ours'),
      );
      log(`\n  ${scenario.label}`);
      for (let round = 0; round < size.rounds; round++) {
        for (const s of rotate(chosen, round)) {
          const cookies = scenario.login ? s.cookies : undefined;
          // Woken up just before it is measured: it has been idle while the others ran (see config.mjs).
          await load(s.port, scenario, cookies, size.connections, size.trialWarmupMs);
          const before = await s.child.ask({ type: 'usage' });
          const databaseBefore = databaseCpuUs();
          const result = await load(s.port, scenario, cookies, size.connections, size.trialMs);
          const databaseAfter = databaseCpuUs();
          const after = await s.child.ask({ type: 'usage' });
          const failures = result.non2xx + result.errors + result.timeouts;
          const trial = {
            rps: result.requests.total / result.duration,
            p50: result.latency.p50,
            p99: result.latency.p99,
            requests: result.requests.total,
            failures,
            cpuUs: (after.cpuUs - before.cpuUs) / result.requests.total,
            databaseCpuUs: (databaseAfter - databaseBefore) / result.requests.total,
          };
          const entry = results[scenario.id].get(s.contender.id) ?? { trials: [], rssBytes: Number.NaN, server: s.key };
          entry.trials.push(trial);
          results[scenario.id].set(s.contender.id, entry);
          log(
            `  ${scenario.id}, round ${round + 1}: ${s.contender.label.padEnd(34)} ${trial.rps.toFixed(0).padStart(7)} ` +
              `req/s${failures ? `  (${failures} failed)` : ''}`,
          );
        }
      }
    }
    for (const server of servers) {
      const rssBytes = await server.child.close();
      server.child = undefined;
      for (const scenario of scenarios) {
        const entry = results[scenario.id].get(server.contender.id);
        if (entry?.server === server.key) entry.rssBytes = rssBytes;
      }
    }
    return results;
  } finally {
    for (const server of servers) server.child?.kill();
  }
}
