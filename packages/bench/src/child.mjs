// A contender's child process and a request/response exchange over its IPC channel.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A forked `<name>.mjs` of this folder, answering one message at a time. */
export class Child {
  constructor(name, label) {
    this.label = label;
    this.process = fork(path.join(here, `${name}.mjs`), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = new Promise((resolve) => this.process.once('exit', resolve));
  }

  /** Send `message` and resolve the next reply (rejecting on an `error` reply or an early exit). */
  ask(message, timeoutMs = 120_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${this.label}: no answer to ${message.type} in ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (reply) => finish(reply.type === 'error' ? new Error(`${this.label}: ${reply.error}`) : null, reply);
      const onExit = (code) => finish(new Error(`${this.label}: exited (${code}) during ${message.type}`));
      const finish = (error, reply) => {
        clearTimeout(timer);
        this.process.off('message', onMessage);
        this.process.off('exit', onExit);
        if (error) reject(error);
        else resolve(reply);
      };
      this.process.on('message', onMessage);
      this.process.once('exit', onExit);
      this.process.send(message);
    });
  }

  /** Close the contender, resolve its peak RSS in bytes, and wait for the process to end. */
  async close() {
    try {
      const { maxRssKb } = await this.ask({ type: 'close' }, 30_000);
      return maxRssKb * 1024;
    } finally {
      // It exits by itself once disconnected; a child that does not is stopped.
      const timer = setTimeout(() => this.process.kill(), 5000);
      await this.exited;
      clearTimeout(timer);
    }
  }

  /** End the process now (after a failure). */
  kill() {
    if (this.process.exitCode === null) this.process.kill('SIGKILL');
  }
}
