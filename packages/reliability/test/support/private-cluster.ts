import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The folder of PostgreSQL's server programs: CSK_PG_BIN, else the newest /usr/lib/postgresql/<major>/bin. */
export function findPostgresBin(): string | undefined {
  const candidates = process.env.CSK_PG_BIN
    ? [process.env.CSK_PG_BIN]
    : fs.existsSync('/usr/lib/postgresql')
      ? fs
          .readdirSync('/usr/lib/postgresql')
          .sort((a, b) => Number(b) - Number(a))
          .map((major) => path.join('/usr/lib/postgresql', major, 'bin'))
      : [];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')));
}

/** Why a private cluster cannot run here, or undefined when it can. */
export function clusterUnavailable(): string | undefined {
  if (!findPostgresBin()) return 'no PostgreSQL server programs (initdb, pg_ctl): set CSK_PG_BIN to their folder';
  if (process.getuid?.() === 0 && !fs.existsSync('/usr/sbin/runuser') && !fs.existsSync('/sbin/runuser')) {
    return 'running as root without runuser: PostgreSQL refuses to run as root';
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A PostgreSQL cluster of the test's own, in a temporary folder, on a spare port of 127.0.0.1 (trust
 * authentication, user postgres, database postgres), with fsync and synchronous_commit on. As root it runs as the
 * postgres user (PostgreSQL refuses root). `crash()` kills every process of the cluster with SIGKILL.
 */
export class PrivateCluster {
  readonly dir: string;
  readonly port: number;
  readonly #bin: string;
  readonly #asPostgres: boolean;

  private constructor(dir: string, port: number, bin: string) {
    this.dir = dir;
    this.port = port;
    this.#bin = bin;
    this.#asPostgres = process.getuid?.() === 0;
  }

  /** initdb a new cluster and start it. */
  static async create(): Promise<PrivateCluster> {
    const bin = findPostgresBin();
    if (!bin) throw new Error(clusterUnavailable());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-crash-'));
    const cluster = new PrivateCluster(dir, await freePort(), bin);
    if (cluster.#asPostgres) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      fs.chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    // --no-sync only spares initdb's own flush of the new files; the server runs with fsync on.
    await cluster.#exec('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    await cluster.start();
    return cluster;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** The knex connection of the cluster. */
  get connection(): Record<string, unknown> {
    return { host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres' };
  }

  /** Start the server and resolve once it accepts connections (after crash recovery, when there was a crash). */
  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=on',
      '-c synchronous_commit=on',
      '-c full_page_writes=on',
    ].join(' ');
    const log = path.join(this.dir, 'server.log');
    await this.#exec('pg_ctl', ['-D', this.dataDir, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
  }

  /** The postmaster's process id, from postmaster.pid. */
  postmasterPid(): number {
    return Number(fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /**
   * A crash: SIGKILL to the postmaster and to every process it started (backends, checkpointer, WAL writer), with
   * no chance to shut down or checkpoint. Resolves once all are gone.
   */
  async crash(): Promise<void> {
    const postmaster = this.postmasterPid();
    const children = await run('pgrep', ['-P', String(postmaster)]).then(
      ({ stdout }) => stdout.split('\n').filter(Boolean).map(Number),
      () => [] as number[],
    );
    for (const pid of [postmaster, ...children]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (let i = 0; i < 200 && [postmaster, ...children].some(alive); i += 1) await sleep(25);
  }

  /** Stop the server if it runs (immediately) and delete the folder. Never throws. */
  async destroy(): Promise<void> {
    if (fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) {
      await this.#exec('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      try {
        const pid = this.postmasterPid();
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        // No pid file, or no such process.
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The server's log, for failure messages. */
  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'server.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async #exec(program: string, args: string[]): Promise<void> {
    const file = path.join(this.#bin, program);
    const [command, argv] = this.#asPostgres ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    await run(command, argv, { timeout: 90_000 });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
