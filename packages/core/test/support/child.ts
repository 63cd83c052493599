import { execFile } from 'node:child_process';
import path from 'node:path';

/** How a child process ended: its exit code (or the signal that killed it) and what it printed. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `test/support/child/<name>.ts` in its own Node process; a child still running after `timeoutMs` is killed. */
export function runChild(name: string, timeoutMs = 20_000): Promise<ChildResult> {
  const runner = path.join(__dirname, '..', '..', '..', '..', 'scripts', 'run-ts.cjs');
  const script = path.join(__dirname, 'child', `${name}.ts`);
  return new Promise((resolve) => {
    const options = { timeout: timeoutMs, killSignal: 'SIGKILL' as const };
    execFile(process.execPath, [runner, script], options, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}
