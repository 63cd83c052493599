// Instructions per HTTP request of one contender, counted by callgrind rather than timed: on a small shared VM the
// wall clock is too noisy to tell a few per cent apart, while instruction counts repeat closely.
//
// The server is the bench's own http-child (the same express app, contender and options), forked under
// `valgrind --tool=callgrind` with instrumentation off; it logs its users in and warms up (JIT) uninstrumented,
// then counts exactly `--requests` requests of each scenario, one callgrind dump per scenario.
//
//   node scripts/http-instructions.mjs --id=sq-floor [--requests=2000] [--users=500] [--connections=32]
//   node scripts/http-instructions.mjs --id=sq-ours --profile   (no valgrind: node --cpu-prof of the whole run)
//
// Prints instructions per request of /write and /read; the dumps stay in --out (callgrind_annotate reads them).
import { execFile, fork } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORK_DIR } from '../src/config.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const id = arg('id', 'sq-ours');
const requests = Number(arg('requests', 2000));
const users = Number(arg('users', 500));
const connections = Number(arg('connections', 32));
const warmup = Number(arg('warmup', 3000));
const scenarios = arg('scenarios', 'write,read').split(',');
const profile = process.argv.includes('--profile');
const strace = process.argv.includes('--strace');
const out = path.resolve(arg('out', `/tmp/csk-callgrind/${id}`));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
mkdirSync(WORK_DIR, { recursive: true });
for (const suffix of ['', '-wal', '-shm']) rmSync(path.join(WORK_DIR, `${id}.sqlite${suffix}`), { force: true });

const child = fork(path.join(here, '../src/http-child.mjs'), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  ...(profile
    ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${out}`] }
    : strace
      ? { execPath: 'strace', execArgv: ['-f', '-c', '-o', `${out}/strace.txt`, process.execPath] }
    : {
        execPath: 'valgrind',
        execArgv: [
          '--tool=callgrind',
          '--instr-atstart=no',
          '--smc-check=all-non-file',
          `--callgrind-out-file=${out}/callgrind.out`,
          process.execPath,
          // No background compiler or GC threads, whose work lands in whichever dump is running: steadier counts.
          '--single-threaded',
        ],
      }),
});

function ask(message) {
  return new Promise((resolve, reject) => {
    child.once('message', (reply) => (reply.type === 'error' ? reject(new Error(reply.error)) : resolve(reply)));
    child.send(message);
  });
}

/** callgrind_control `option`, while pinging the child over IPC: an idle node waits in epoll, where valgrind only sees the command once woken. */
async function control(option) {
  if (profile || strace) return;
  const done = new Promise((resolve, reject) =>
    execFile('callgrind_control', [option, String(child.pid)], (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
  let finished = false;
  done.finally(() => (finished = true)).catch(() => {});
  while (!finished) {
    await ask({ type: 'usage' });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return done;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: connections });

function get(port, urlPath, cookie) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, agent, headers: cookie ? { cookie } : {} }, (response) => {
      response.resume();
      response.on('end', () =>
        response.statusCode === 200 ? resolve(response.headers['set-cookie']) : reject(new Error(`${urlPath}: ${response.statusCode}`)),
      );
    });
    request.on('error', reject);
  });
}

/** `count` requests of `urlPath`, `connections` at a time, each with the next user's cookie. */
async function drive(port, urlPath, cookies, count) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      await get(port, urlPath, cookies[n % cookies.length]);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

function totalOf(file) {
  const text = readFileSync(file, 'utf8');
  return Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1]);
}

try {
  const { port } = await ask({ type: 'setup', id });
  const cookies = [];
  for (let n = 0; n < users; n++) cookies.push((await get(port, `/login/${n}`))[0].split(';')[0]);
  for (const scenario of scenarios) await drive(port, `/${scenario}`, cookies, warmup);
  await control('--instr=on');
  // Two rounds: the first after switching instrumentation on has been seen to count more (valgrind settling in).
  for (let round = 1; round <= Number(arg("rounds", 3)); round++) {
    for (const scenario of scenarios) {
      await control('--zero');
      await drive(port, `/${scenario}`, cookies, requests);
      await control(`--dump=${scenario}-${round}`);
    }
  }
  await ask({ type: 'close' });
} finally {
  await new Promise((resolve) => child.once('exit', resolve));
  agent.destroy();
}
if (!profile && !strace) {
  const dumps = readdirSync(out).filter((f) => f.startsWith('callgrind.out'));
  for (const file of dumps.sort()) {
    const trigger = /^desc: Trigger: dump (\S+)/m.exec(readFileSync(path.join(out, file), 'utf8'))?.[1];
    if (!trigger) continue;
    const total = totalOf(path.join(out, file));
    console.log(`${id} /${trigger}: ${Math.round(total / requests)} instructions per request (${file})`);
  }
} else {
  console.log(`${strace ? 'strace' : 'profile'} in ${out}`);
}
