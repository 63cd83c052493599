import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Knex } from 'knex';
import type { KnexStore, KnexStoreOptions } from '@csk/core';

/** The worker script, shipped as plain CommonJS next to this file. */
export const WORKER_SCRIPT = path.join(__dirname, 'worker.cjs');

/** How a process of its own builds the store under test. */
export interface ProcessTarget {
  /** Absolute path of the package dir whose node_modules resolve knex, the drivers and `storeModule`. */
  packageDir: string;
  /** The built store module, e.g. the absolute path of the package's dist/index.cjs. */
  storeModule: string;
  /** Its store class, e.g. 'PostgresStore'. */
  storeExport: string;
  /** A JSON-serialisable knex config. */
  knexConfig: Knex.Config;
  /** A module exporting a knex Client class to use as `client` (PGlite's `knex-pglite`), resolved from packageDir. */
  clientModule?: string;
}

/** A database the live scenarios run on, seen from the test process and from processes of their own. */
export interface LiveTarget {
  /** Title prefix, e.g. 'PostgreSQL (pg)'. */
  name: string;
  /** A fresh knex for the test process; the scenario destroys it. */
  createKnex(): Knex | Promise<Knex>;
  /** The package's store class with these options. */
  createStore(options: KnexStoreOptions): KnexStore;
  /** How a worker process builds the same store. */
  process: ProcessTarget;
  /**
   * Whether separate processes reach the same database (false for an in-process engine such as PGlite: each worker
   * then has a database of its own, and the cross-process checks are left out).
   */
  shared: boolean;
}

/** A worker's reply to `load`. */
export interface LoadedWorker {
  pid: number;
  /** The IANA time zone the worker's process runs in. */
  timeZone: string;
}

/** A store in a process of its own, driven by requests. See `worker.cjs` for the operations. */
export class Worker {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  #stderr = '';
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    child.on('message', (message: { id: number; ok: boolean; value?: unknown; error?: { message: string } }) => {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.value);
      else pending.reject(new Error(message.error?.message ?? 'worker request failed'));
    });
    this.#exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        for (const { reject } of this.#pending.values()) {
          reject(new Error(`worker exited (code ${code}, signal ${signal}) before replying\n${this.#stderr}`));
        }
        this.#pending.clear();
        resolve();
      });
    });
  }

  /** Start a worker with extra environment variables (e.g. `{ TZ: 'Asia/Kolkata' }`) and load the target in it. */
  static async start(
    target: ProcessTarget,
    { env = {}, sessionSql = [] }: { env?: Record<string, string>; sessionSql?: string[] } = {},
  ): Promise<{ worker: Worker; loaded: LoadedWorker }> {
    const child = spawn(process.execPath, [WORKER_SCRIPT], {
      cwd: target.packageDir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const worker = new Worker(child);
    try {
      const loaded = await worker.request<LoadedWorker>('load', { ...target, sessionSql });
      return { worker, loaded };
    } catch (error) {
      await worker.stop();
      throw error;
    }
  }

  /** Send one request; resolves the worker's value or rejects with its error message. */
  request<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#nextId;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ id, op, args }, (error) => {
        if (!error) return;
        this.#pending.delete(id);
        reject(error);
      });
    });
  }

  /** Call a store method in the worker. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    return this.request<T>('call', { method, args });
  }

  /** Close the worker's store and knex and let it exit; kill it if it has not exited within 10 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    await this.request('close').catch(() => undefined);
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** Start `count` workers at once (each with the same options). */
export async function startWorkers(
  count: number,
  target: ProcessTarget,
  options: { env?: Record<string, string>; sessionSql?: string[] } = {},
): Promise<Worker[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => Worker.start(target, options)));
  const workers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value.worker] : []));
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await Promise.all(workers.map((worker) => worker.stop()));
    throw (failure as PromiseRejectedResult).reason;
  }
  return workers;
}
