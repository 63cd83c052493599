// How the fuzz runs and checks its calls: the number of runs and fast-check's settings, the ledger of calls made with
// a callback, and the refusal every rejected case must be.
import { expect } from '@jest/globals';
import fc from 'fast-check';
import type { Callback } from '@csk/core';
import { DEFAULT_FUZZ_RUNS, type ConformanceTarget } from '../target.js';
import { errorName, sleep } from '../util.js';

/** The runs of each property for a target: CSK_FUZZ_RUNS, else the target's fuzzRuns, else the default. */
export function fuzzBudget(target: ConformanceTarget): number {
  const fromEnv = Number(process.env.CSK_FUZZ_RUNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return target.fuzzRuns ?? DEFAULT_FUZZ_RUNS;
}

/** fast-check's settings: a fixed seed when CSK_FUZZ_SEED is set (to replay a failure it printed), else a new one. */
export function settings(numRuns: number): fc.Parameters<unknown> {
  const seed = Number(process.env.CSK_FUZZ_SEED);
  return { numRuns, ...(Number.isInteger(seed) ? { seed } : {}) };
}

/** The outcome of one call made with a callback. */
export interface Outcome<T> {
  error: unknown;
  value: T | undefined;
}

/**
 * Calls made with a callback, checked as a whole at the end of each property: the method never throws, its promise
 * never rejects, and each callback runs exactly once.
 */
export class Ledger {
  readonly #calls: number[] = [];
  readonly #problems: string[] = [];

  call<T>(what: string, start: (callback: Callback<T>) => unknown): Promise<Outcome<T>> {
    const index = this.#calls.push(0) - 1;
    return new Promise<Outcome<T>>((resolve) => {
      let returned: unknown;
      try {
        returned = start((error, value) => {
          this.#calls[index] = (this.#calls[index] ?? 0) + 1;
          resolve({ error, value });
        });
      } catch (error) {
        this.#problems.push(`${what} threw ${errorName(error)}: ${(error as Error)?.message}`);
        resolve({ error, value: undefined });
        return;
      }
      if (returned instanceof Promise) {
        returned.catch((error: unknown) =>
          this.#problems.push(`${what} returned a rejected promise: ${errorName(error)}`),
        );
      }
    });
  }

  /** After a grace period for late second calls: every callback ran exactly once, and nothing threw or rejected. */
  async check(): Promise<void> {
    await sleep(50);
    const wrong = this.#calls.flatMap((calls, index) =>
      calls === 1 ? [] : [`call ${index} ran its callback ${calls} times`],
    );
    expect([...this.#problems, ...wrong]).toEqual([]);
    this.#calls.length = 0;
  }
}

/** The error a refusal must be: an InvalidSessionError from the store. */
export function expectRefusal(error: unknown): void {
  expect(errorName(error)).toBe('InvalidSessionError');
  expect((error as Error).message).toMatch(/^\[connect-session-knex\] /);
}
