import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

// examples/basic/server.js as `pnpm example` runs it, in a working directory of the test's (where its
// connect-session-knex.sqlite lands). It imports connect-session-knex's dist: build core, the adapters and this
// package first.
export const EXAMPLE_SERVER = path.resolve(__dirname, '../../../examples/basic/server.js');

export interface RunningExample {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the server printed so far, stdout and stderr. */
  output: string;
}

/** Start the example in `cwd` on `port` (0: a free one) and resolve once it listens. */
export function startExample(cwd: string, port = 0): Promise<RunningExample> {
  const child = spawn(process.execPath, [EXAMPLE_SERVER], { cwd, env: { ...process.env, PORT: String(port) } });
  const running = { child, url: '', output: '' };
  return new Promise((resolve, reject) => {
    const collect = (chunk: Buffer): void => {
      running.output += chunk.toString();
      const match = /Listening on (http:\/\/localhost:\d+)/.exec(running.output);
      if (match && !running.url) resolve(Object.assign(running, { url: match[1]!.replace('localhost', '127.0.0.1') }));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      reject(new Error(`the example exited with code ${code} before listening:\n${running.output}`));
    });
  });
}

/** How long the example may take to shut down after SIGTERM before the test fails, saying so, rather than hangs. */
const STOP_WITHIN_MS = 10_000;

/** Send SIGTERM and resolve the exit code: the example must shut down by itself, not be killed. */
export function stopExample(running: RunningExample): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (running.child.exitCode !== null) {
      resolve(running.child.exitCode);
      return;
    }
    const timer = setTimeout(() => {
      const printed = `it printed:\n${running.output}`;
      reject(new Error(`the example did not exit within ${STOP_WITHIN_MS} ms of SIGTERM; ${printed}`));
    }, STOP_WITHIN_MS);
    running.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    running.child.kill('SIGTERM');
  });
}

/** Kill an example that a failed test left running. */
export function killExample(running: RunningExample | undefined): void {
  if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
}
