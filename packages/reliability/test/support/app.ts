import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { AppConfig, AppMessage, AppReport, StoreEvent, TestMessage } from './protocol.js';

const RUNNER = path.join(__dirname, '..', '..', '..', '..', 'scripts', 'run-ts.cjs');
const APP = path.join(__dirname, 'app-child.ts');

/** How the application process ended. */
export interface AppExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The application process, seen from the test. */
export class AppProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<AppExit>;
  readonly events: StoreEvent[] = [];
  #stderr = '';
  #exit: AppExit | undefined;
  #pending: Array<{ type: AppMessage['type']; resolve: (message: AppMessage) => void }> = [];
  port = 0;

  private constructor(config: AppConfig) {
    this.#child = fork(RUNNER, [APP], {
      env: { ...process.env, CSK_RELIABILITY_APP: JSON.stringify(config) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    this.#child.on('message', (message: AppMessage) => {
      if (message.type === 'event') this.events.push(message.event);
      const waiter = this.#pending.find((pending) => pending.type === message.type);
      if (waiter) {
        this.#pending.splice(this.#pending.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    });
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /** Start the application and wait until it listens. */
  static async start(config: AppConfig, timeoutMs = 20_000): Promise<AppProcess> {
    const app = new AppProcess(config);
    const listening = await app.#next('listening', timeoutMs);
    app.port = (listening as Extract<AppMessage, { type: 'listening' }>).port;
    return app;
  }

  /** The base URL of the application. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether the process is still running: a crash would have ended it. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The application's own account: unhandled rejections, uncaught exceptions, store events, error causes. */
  async report(): Promise<AppReport> {
    const waiting = this.#next('report', 10_000);
    this.#send({ type: 'report' });
    return ((await waiting) as Extract<AppMessage, { type: 'report' }>).report;
  }

  /** Close the store and the server; resolves how the process then ended (it must exit by itself). */
  async close(timeoutMs = 15_000): Promise<AppExit> {
    if (this.#exit) return this.#exit;
    this.#send({ type: 'close' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kill the process whatever its state (cleanup after a failed test). */
  kill(): void {
    if (!this.#exit) this.#child.kill('SIGKILL');
  }

  #send(message: TestMessage): void {
    if (this.#child.connected) this.#child.send(message);
  }

  #next(type: AppMessage['type'], timeoutMs: number): Promise<AppMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the application sent no "${type}" within ${timeoutMs} ms\nstderr:\n${this.#stderr}`));
      }, timeoutMs);
      this.#pending.push({
        type,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      });
      void this.#exited.then((exit) => {
        clearTimeout(timer);
        const how = JSON.stringify(exit);
        reject(new Error(`the application exited (${how}) before "${type}"\nstderr:\n${this.#stderr}`));
      });
    });
  }
}
