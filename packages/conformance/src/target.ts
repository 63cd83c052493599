import type { Knex } from 'knex';
import type { KnexStore, KnexStoreOptions } from '@csk/core';

/** Generated fuzz cases per target when it sets no `fuzzRuns` (the floor: 10,000 per dialect). */
export const DEFAULT_FUZZ_RUNS = 10_000;
/** Fuzz cases for a further target of an engine whose primary target already runs the full default. */
export const SECONDARY_FUZZ_RUNS = 2_000;

/** One database and store class the conformance suite runs against. */
export interface ConformanceTarget {
  /** Title prefix, e.g. 'sqlite3 (memory)'. */
  name: string;
  /** A fresh knex for the suite (called in beforeAll; the suite destroys it in afterAll). */
  createKnex(): Knex | Promise<Knex>;
  /** Build the dialect's store class with these options (options.knex is always set by the suite). */
  createStore(options: KnexStoreOptions): KnexStore;
  /**
   * How many generated cases the property-based fuzz runs on this target, split across its properties (sids,
   * sessions, values of the wrong type), plus a few 5 MB sessions on top. Default {@link DEFAULT_FUZZ_RUNS}; the
   * environment variable `CSK_FUZZ_RUNS` overrides it for every target (e.g. a long soak, or a quick local run), and
   * `CSK_FUZZ_SEED` replays the seed a failure printed.
   */
  fuzzRuns?: number;
  /** How a child process builds the same store, for checks that need a process of their own. */
  isolated: {
    /** Absolute path of the package dir whose node_modules resolve knex, drivers and the store module. */
    packageDir: string;
    /** Module specifier resolved from packageDir (e.g. an absolute path to the package's built dist/index.cjs). */
    storeModule: string;
    /** Named export of the store class in that module, e.g. 'SqliteStore'. */
    storeExport: string;
    /** knex config for the child (JSON-serialisable). */
    knexConfig: Knex.Config;
    /**
     * Optional: a module, resolved from packageDir, exporting a knex Client class that the child uses as
     * `knexConfig.client` (a class cannot travel as JSON), e.g. 'knex-pglite'.
     */
    clientModule?: string;
  };
}

/** What every group of cases shares: the target and the knex the suite opened for it. */
export interface SuiteContext {
  readonly target: ConformanceTarget;
  /** The suite's knex. Only usable inside hooks and tests (it is opened in the suite's beforeAll). */
  readonly knex: Knex;
}
