import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ConformanceTarget } from '../target.js';

const RESULT_PREFIX = 'CSK_CHILD_RESULT ';
/** The child script, shipped as plain CommonJS next to this file. */
export const CHILD_SCRIPT = path.join(__dirname, 'store-child.cjs');

/** What the child printed, and how it ended. */
export interface ChildReport<T> {
  result: T;
  /** Uncaught exceptions the child saw, as `Name: message`. */
  uncaught: string[];
  /** Unhandled rejections the child saw, as `Name: message`. */
  unhandled: string[];
  exitCode: number | null;
  stderr: string;
}

/**
 * Run one scenario of `store-child.cjs` against the target's built store. Rejects when the child fails, prints no
 * result, or does not exit by itself within `exitDeadlineMs` of printing it (a handle left open).
 */
export function runChild<T>(
  target: ConformanceTarget,
  scenario: string,
  tables: string[],
  { runDeadlineMs = 40_000, exitDeadlineMs = 10_000 } = {},
): Promise<ChildReport<T>> {
  const config = { scenario, tables, ...target.isolated };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD_SCRIPT], {
      cwd: target.isolated.packageDir,
      env: { ...process.env, CSK_CONFORMANCE_CHILD: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    let failure: string | undefined;
    const arm = (ms: number, why: string): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        failure = why;
        child.kill('SIGKILL');
      }, ms);
    };
    arm(runDeadlineMs, `the child (${scenario}) printed no result within ${runDeadlineMs} ms`);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes(RESULT_PREFIX) && stdout.endsWith('\n') && !failure) {
        arm(
          exitDeadlineMs,
          `the child (${scenario}) did not exit within ${exitDeadlineMs} ms of finishing: a handle is left open`,
        );
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((text) => text.startsWith(RESULT_PREFIX));
      if (failure || !line) {
        reject(
          new Error(
            `${failure ?? `the child (${scenario}) printed no result`}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
          ),
        );
        return;
      }
      const parsed = JSON.parse(line.slice(RESULT_PREFIX.length)) as {
        result?: T;
        failed?: string;
        uncaught: string[];
        unhandled: string[];
      };
      if (parsed.failed) {
        reject(new Error(`the child (${scenario}) failed: ${parsed.failed}\nstderr:\n${stderr}`));
        return;
      }
      resolve({ result: parsed.result as T, uncaught: parsed.uncaught, unhandled: parsed.unhandled, exitCode, stderr });
    });
  });
}
