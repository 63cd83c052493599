import { afterAll } from '@jest/globals';
import { mariadb } from './support/engines.js';
import { faultSuite, printResults } from './support/fault-suite.js';
import type { ScenarioResult } from './support/scenario.js';

const results: ScenarioResult[] = [];
faultSuite(mariadb, results);
afterAll(() => printResults(`${mariadb.name}: an express 5 app under load while the database fails`, results));
