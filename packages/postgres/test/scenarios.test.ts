import { existsSync } from 'node:fs';
import { describeLive } from '@csk/conformance/scenarios/live';
import { describeBootRace, describeConcurrentFirstWrites } from '@csk/conformance/scenarios/multi-process';
import { describeTimezones, type TimezoneOptions } from '@csk/conformance/scenarios/timezones';
import { EXPIRY_MS, pgliteTarget, serverTarget, storeModule } from './targets';

if (!existsSync(storeModule)) throw new Error(`${storeModule} is missing: build core, then this package (npx tsup)`);

const timezones: TimezoneOptions = {
  sessionSql: ["set time zone 'Pacific/Chatham'"],
  sessionZoneExpression: "current_setting('TimeZone')",
  sessionZone: 'Pacific/Chatham',
  expiryMsExpression: EXPIRY_MS,
};

// Each worker runs a PGlite of its own: the time zones are checked everywhere, the cross-process races need a server.
describeTimezones(pgliteTarget, timezones);

describeLive('CSK_PG_URL', 'PostgreSQL server scenarios', (url) => {
  const target = serverTarget(url);
  describeTimezones(target, timezones);
  describeConcurrentFirstWrites(target);
  describeBootRace(target);
});
