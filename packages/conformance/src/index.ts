/**
 * The conformance suite every `@csk` dialect package runs: the express-session Store contract, expiry, the prune,
 * prune safety, concurrency, JSON, bad input, a property-based fuzz (10,000 cases by default: see `fuzzRuns`), corrupt rows,
 * bootstrap, hostile identifiers, the callback contract (partly in a child process) and a real express 5 app, each
 * against the dialect's own database. Rows are checked with knex directly, not through the
 * store's read path.
 *
 * @example
 * ```ts
 * describeStoreConformance({
 *   name: 'sqlite3 (memory)',
 *   createKnex: () => knex({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true }),
 *   createStore: (options) => new SqliteStore(options),
 *   isolated: { packageDir, storeModule, storeExport: 'SqliteStore', knexConfig },
 * });
 * ```
 *
 * @packageDocumentation
 */
import { afterAll, beforeAll, describe } from '@jest/globals';
import type { Knex } from 'knex';
import { atRestCases } from './cases/at-rest.js';
import { badInputCases } from './cases/bad-input.js';
import { bootstrapCases } from './cases/bootstrap.js';
import { callbackCases } from './cases/callbacks.js';
import { columnCases } from './cases/columns.js';
import { concurrencyCases } from './cases/concurrency.js';
import { corruptRowCases } from './cases/corrupt.js';
import { expiryCases } from './cases/expiry.js';
import { expressCases } from './cases/express.js';
import { expressContractCases } from './cases/express-contract.js';
import { fuzzCases } from './cases/fuzz.js';
import { identifierCases } from './cases/identifiers.js';
import { jsonCases } from './cases/json.js';
import { optionalMethodCases } from './cases/optional.js';
import { pruneCases } from './cases/prune.js';
import { pruneSafetyCases } from './cases/prune-safety.js';
import { requiredMethodCases } from './cases/required.js';
import { revokeCases } from './cases/revoke.js';
import { tableSetupCases } from './cases/table-setup.js';
import { touchCases } from './cases/touch.js';
import type { ConformanceTarget, SuiteContext } from './target.js';

export { DEFAULT_FUZZ_RUNS, SECONDARY_FUZZ_RUNS, type ConformanceTarget, type SuiteContext } from './target.js';
export { useScope, expiryMs, sessionValue, type Scope, type ScopeOptions, type RawRow } from './scope.js';
export { tableKeys, type TableKeys } from './introspect.js';
export { runChild, type ChildReport } from './child/run-child.js';
export * from './util.js';
export { expressContractCases } from './cases/express-contract.js';

/**
 * Register the whole suite for `target` as jest `describe`/`it` blocks titled with `target.name`. Each block uses a
 * table of its own (so several targets may share one database) and drops it afterwards; the knex is destroyed in
 * afterAll.
 */
export function describeStoreConformance(target: ConformanceTarget): void {
  describe(target.name, () => {
    let knex: Knex | undefined;
    const ctx: SuiteContext = {
      target,
      get knex(): Knex {
        if (!knex) throw new Error('the suite knex is only available inside hooks and tests');
        return knex;
      },
    };

    beforeAll(async () => {
      knex = await target.createKnex();
    });

    afterAll(async () => {
      await knex?.destroy();
      knex = undefined;
    });

    requiredMethodCases(ctx);
    touchCases(ctx);
    optionalMethodCases(ctx);
    expiryCases(ctx);
    pruneCases(ctx);
    pruneSafetyCases(ctx);
    concurrencyCases(ctx);
    jsonCases(ctx);
    badInputCases(ctx);
    fuzzCases(ctx);
    corruptRowCases(ctx);
    atRestCases(ctx);
    bootstrapCases(ctx);
    columnCases(ctx);
    revokeCases(ctx);
    tableSetupCases(ctx);
    identifierCases(ctx);
    callbackCases(ctx);
    expressCases(ctx);
    expressContractCases(ctx);
  });
}
