import { afterAll } from '@jest/globals';
import { postgres } from './support/engines.js';
import { faultSuite, printResults } from './support/fault-suite.js';
import type { ScenarioResult } from './support/scenario.js';

const results: ScenarioResult[] = [];
faultSuite(postgres, results);
afterAll(() => printResults(`${postgres.name}: an express 5 app under load while the database fails`, results));
